"""Helpers for the console's browser tests: a real `strikeflow serve --feed` in a subprocess
(bundled broker, its own chdb, simulated ticks) and Debian's Chromium driven by Playwright.

Playwright's own browser downloads are not used: Chromium is the system's (`make test`
installs it). The serve process opens its own chdb engine path, which this pytest process,
already on the session's path, cannot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.runtime.broker import free_port
from tests.api.test_api_server import eventually

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Served:
    url: str
    token: str
    data_dir: Path
    http: httpx.Client  # with the full token, for checks from outside the browser


@contextlib.contextmanager
def serve_with_feed(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    """`strikeflow serve --feed` until the flow writes live ticks; stopped with SIGINT after."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEFLOW_")}
    env.update(
        {
            "STRIKEFLOW_DATA_DIR": str(data_dir),
            "STRIKEFLOW_SINK_MAX_SECONDS": "0.2",
            "STRIKEFLOW_SNAPSHOT_INTERVAL_SECONDS": "1",
            **(extra_env or {}),
        }
    )
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--feed"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    token_file = data_dir / "api-token"
    try:
        token = eventually(
            lambda: token_file.read_text().strip() or None if token_file.exists() else None,
            timeout=60,
            what="serve to write its token",
        )
        with httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as http:

            def ticking() -> bool | None:
                if process.poll() is not None:
                    raise AssertionError(f"serve exited early:\n{log.read_text()}")
                try:
                    body: dict[str, Any] = http.get("/ready").json()
                except httpx.TransportError:
                    return None
                return True if body["heartbeat_age_seconds"] is not None else None

            eventually(ticking, timeout=120, what="serve to trade simulated ticks")
            yield Served(url, token, data_dir, http)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
