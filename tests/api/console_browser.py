"""Helpers for the console's browser tests: a real `strikeflow serve --feed` in a subprocess
(bundled broker, its own chdb, simulated ticks) and Debian's Chromium driven by Playwright.

Playwright's own browser downloads are not used: Chromium is the system's (`make test`
installs it). The serve process opens its own chdb engine path, which this pytest process,
already on the session's path, cannot.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.runtime.broker import free_port
from tests.api.test_api_serve import start_serve, written_token
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
    port = free_port()
    extra = {"STRIKEFLOW_SNAPSHOT_INTERVAL_SECONDS": "1", **(extra_env or {})}
    process, log = start_serve(data_dir, port, extra)
    url = f"http://127.0.0.1:{port}"
    token_file = data_dir / "api-token"
    try:
        token = written_token(token_file, timeout=60)
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
