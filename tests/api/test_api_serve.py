"""`strikeflow serve --feed` on the embedded default: broker, flow, feed and API in one process.

Runs the real CLI in a subprocess: it opens a chdb engine path of its own, which this pytest
process (already on the session's path) cannot.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.runtime.broker import free_port
from tests.api.test_api_server import eventually, trading_config

pytestmark = pytest.mark.integration


def child_processes(pid: int) -> list[int]:
    """The process's children, over all its threads (a thread may end while they are read)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text()
        except FileNotFoundError:
            continue
        found.extend(int(child) for child in children.split())
    return found


def start_serve(
    tmp_path: Path,
    port: int,
    extra_env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> tuple[subprocess.Popen[bytes], Path]:
    """`strikeflow serve --feed [options]` on a fresh data directory, its output in
    serve.log."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEFLOW_")}
    env["STRIKEFLOW_DATA_DIR"] = str(tmp_path)
    env["STRIKEFLOW_SINK_MAX_SECONDS"] = "0.2"
    env.update(extra_env or {})
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--feed", *options],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, log


def written_token(token_file: Path, timeout: float = 120) -> str:
    """The API token serve writes into its data directory, once it is there."""
    return eventually(
        lambda: token_file.read_text().strip() or None if token_file.exists() else None,
        timeout=timeout,
        what="serve to write its token",
    )


def serving(http: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> bool | None:
    """True once serve answers /health; fails at once if it exited."""
    if process.poll() is not None:
        raise AssertionError(f"serve exited early:\n{log.read_text()}")
    try:
        return http.get("/health").is_success or None
    except httpx.TransportError:
        return None


def test_serve_runs_flow_and_feed_beside_the_api_and_stops_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    process, log = start_serve(tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    token_file = tmp_path / "api-token"
    try:
        token = written_token(token_file, timeout=30)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, timeout=10, headers=auth) as http:

            def readiness() -> dict[str, Any] | None:
                if process.poll() is not None:
                    raise AssertionError(f"serve exited early:\n{log.read_text()}")
                try:
                    answer = http.get("/ready")
                except httpx.TransportError:
                    return None
                body: dict[str, Any] = answer.json()
                return body if body["heartbeat_age_seconds"] is not None else None

            ready = eventually(readiness, timeout=120, what="serve to trade simulated ticks")
            assert ready["ready"]
            assert ready["flow_thread"] is True

            assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
            assert token in log.read_text()
            assert http.get("/signals", headers={"Authorization": ""}).status_code == 401

            created = http.post("/configs", json=trading_config("served"))
            assert created.status_code == 201, created.text
            command = http.post("/accounts/served/start").json()

            def running() -> dict[str, Any] | None:
                answer = http.get("/accounts/served/state")
                state: dict[str, Any] | None = answer.json() if answer.is_success else None
                return state if state and state["command_id"] == command["command_id"] else None

            assert eventually(running, what="the start to be applied")["status"] == "running"
            children = child_processes(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert children, "the bundled broker should have run as a child process"
    for child in children:  # the broker went with the process
        assert not Path(f"/proc/{child}").exists()
