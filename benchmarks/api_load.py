"""Benchmark: the API's answer times under 50 concurrent readers while the live flow trades.

Run from the repository root:

    .venv/bin/python benchmarks/api_load.py                 # Markdown section
    .venv/bin/python benchmarks/api_load.py --seconds 20    # shorter

What it does:
- starts `strikeflow serve --feed` (the embedded runtime: API, bundled broker, live flow and
  simulated feed in one process) on a free port with a data directory of its own;
- creates and starts `--accounts` accounts (a fast moving-average cross on every simulated
  symbol) and waits until /signals and /decisions hold at least 100 rows each;
- keeps a WebSocket open on /ws?kinds=signal during the whole run: each signal's arrival
  (wall clock) minus its event time is the live flow's lag behind the feed, which paces the
  simulated session in real time (event time = wall clock). A flow that keeps up has a lag
  that stays flat; one that falls behind, a lag that grows;
- measures the lag for `--seconds` without load, then `--clients` concurrent clients, each in
  a loop over /health, /ready, /signals, /decisions (100-row pages), /positions and
  /analytics/daily for `--seconds`, on keep-alive connections;
- prints per endpoint the requests, p50 and p99 answer time and the errors, the total
  requests/s, the server's CPU time per request (from /proc: robust to other work on the
  machine, unlike the answer times), and the lag before and during the load.
The client runs in this process, on the same two cores as the server: its own CPU time is
part of every answer time measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python benchmarks/api_load.py"
TOKEN = "api-load-benchmark-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SYMBOLS = ["AAPL", "MSFT", "NVDA", "SPY"]
ENDPOINTS = (
    "/health",
    "/ready",
    "/signals?limit=100",
    "/decisions?limit=100",
    "/positions",
    "/analytics/daily",
)
TARGETS_MS = {"/health": 100.0, "/signals?limit=100": 250.0, "/decisions?limit=100": 250.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIKEFLOW_")}
    env.update(STRIKEFLOW_DATA_DIR=str(data_dir), STRIKEFLOW_API_TOKEN=TOKEN)
    log = (data_dir / "serve.log").open("wb")
    command = [sys.executable, "-m", "api", "serve", "--port", str(port), "--feed"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def trading_accounts(http: httpx.Client, accounts: int) -> None:
    for n in range(accounts):
        config = {
            "account_id": f"load-{n}",
            "symbols": SYMBOLS,
            "strategy": {"kind": "ma_cross", "fast": 2 + n, "slow": 6 + 2 * n},
            "sizing": {"method": "fixed_quantity", "quantity": 10},
            "limits": {"trading_hours": None, "max_open_positions": None},
        }
        http.post("/configs", json=config).raise_for_status()
        http.post(f"/accounts/load-{n}/start").raise_for_status()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rows(http: httpx.Client, path: str) -> int:
    return len(http.get(path, params={"limit": 1000}).json()["items"])


class LagMonitor:
    """Signals from /ws: (arrival wall ms, arrival − event time in ms)."""

    def __init__(self, url: str) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self, url: str) -> None:
        with connect(url, additional_headers=AUTH, max_queue=None) as stream:
            while not self._stop.is_set():
                try:
                    message = json.loads(stream.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if message.get("type") == "event":
                    now = time.time() * 1000  # wall-clock ok: the lag is measured against it
                    self.samples.append((now, now - message["data"]["ts"]))

    def between(self, start: float, end: float) -> list[float]:
        return [lag for at, lag in self.samples if start <= at < end]


async def client(
    http: httpx.AsyncClient, index: int, until: float, times: dict[str, list[float]]
) -> dict[str, int]:
    errors: dict[str, int] = defaultdict(int)
    step = index
    while time.monotonic() < until:
        path = ENDPOINTS[step % len(ENDPOINTS)]
        step += 1
        started = time.perf_counter()
        try:
            answer = await http.get(path)
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        times[path].append((time.perf_counter() - started) * 1000)
        if not ok:
            errors[path] += 1
    return errors


async def load(url: str, clients: int, seconds: float) -> tuple[dict[str, list[float]], dict]:
    times: dict[str, list[float]] = defaultdict(list)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=AUTH, limits=limits, timeout=30) as http:
        until = time.monotonic() + seconds
        found = await asyncio.gather(*(client(http, i, until, times) for i in range(clients)))
    errors: dict[str, int] = defaultdict(int)
    for per_client in found:
        for path, count in per_client.items():
            errors[path] += count
    return times, errors


def percentiles(values: list[float]) -> str:
    if not values:
        return "| | |"
    p50, p99 = np.percentile(values, [50, 99])
    return f"| {p50:,.0f} | {p99:,.0f} |"


def report(args: argparse.Namespace, result: dict[str, Any]) -> str:
    times, errors = result["times"], result["errors"]
    total = sum(len(v) for v in times.values())
    lines = [
        "## API under load (`strikeflow serve --feed`, 50 concurrent readers)",
        "",
        f"Command: `{COMMAND} --clients {args.clients} --seconds {args.seconds:g}`",
        "",
        f"Load average before: {result['load_before']}; after: {os.getloadavg()[0]:.2f}. "
        f"Rows: {result['signals']} signals, {result['decisions']} decisions "
        f"({args.accounts} accounts trading the simulated feed).",
        "",
        "| endpoint | requests | p50 ms | p99 ms | errors | target p99 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for path in ENDPOINTS:
        target = TARGETS_MS.get(path)
        lines.append(
            f"| `{path}` | {len(times[path]):,} {percentiles(times[path])} "
            f"{errors.get(path, 0)} | {f'{target:.0f} ms' if target else ''} |"
        )
    lines += [
        f"| all | {total:,} {percentiles([t for v in times.values() for t in v])} "
        f"{sum(errors.values())} | |",
        "",
        f"Throughput: {total / args.seconds:,.0f} requests/s. The server process used "
        f"{result['idle_cpu']:.1f} s of CPU in the {args.seconds:g} s without load and "
        f"{result['loaded_cpu']:.1f} s under it: "
        f"{(result['loaded_cpu'] - result['idle_cpu']) / max(total, 1) * 1000:.1f} ms of CPU "
        "per request (the time a request costs, whatever else the machine runs).",
        "",
        "The flow's lag behind the feed (signal arrival on /ws minus its event time, ms):",
        "",
        "| phase | signals | p50 | p99 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for phase in ("quiet", "loaded"):
        lags = result[phase]
        worst = f"{max(lags):,.0f}" if lags else ""
        lines.append(f"| {phase} | {len(lags)} {percentiles(lags)} {worst} |")
    return "\n".join(lines)


def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port)
    try:
        with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
            wait_for(
                lambda: http.get("/ready").json().get("heartbeat_age_seconds") is not None,
                180,
                "serve to write live ticks",
            )
            trading_accounts(http, args.accounts)
            lag = LagMonitor(f"ws://127.0.0.1:{port}/ws?kinds=signal")
            lag.start()
            wait_for(
                lambda: rows(http, "/signals") >= 100 and rows(http, "/decisions") >= 100,
                300,
                "100 signals and decisions",
            )
            signals, decisions = rows(http, "/signals"), rows(http, "/decisions")
            load_before = f"{os.getloadavg()[0]:.2f}"
            quiet_start = time.time() * 1000  # wall-clock ok: matches the lag samples
            started_cpu = cpu_seconds(server.pid)
            time.sleep(args.seconds)
            idle_cpu = cpu_seconds(server.pid) - started_cpu
            quiet_cpu = cpu_seconds(server.pid)
            loaded_start = time.time() * 1000  # wall-clock ok
            times, errors = asyncio.run(load(url, args.clients, args.seconds))
            loaded_end = time.time() * 1000  # wall-clock ok
            loaded_cpu = cpu_seconds(server.pid) - quiet_cpu
            lag.stop()
        return {
            "times": times,
            "errors": errors,
            "signals": signals,
            "decisions": decisions,
            "load_before": load_before,
            "quiet": lag.between(quiet_start, loaded_start),
            "loaded": lag.between(loaded_start, loaded_end),
            "idle_cpu": idle_cpu,
            "loaded_cpu": loaded_cpu,
        }
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--accounts", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="strikeflow-api-load-") as folder:
        result = measure(args, Path(folder))
    print(report(args, result))


if __name__ == "__main__":
    main()
