"""The flow in two processes writes exactly what it writes in one (issue 17).

Each run is a subprocess (chdb: one engine per data directory per process; the cluster's
first process is the only one that opens it). The live flow reads topics filled once on the
real broker, so every variant sees the same messages. Every table of the run is compared row by
row, and the run fingerprints must be equal. A file backtest in two processes is compared with
one in tests/flows/runs/test_determinism.py (with its SIMD variants).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flows.runs.demo import SESSION_DAY, SYMBOLS
from flows.sim.feed import feed_writer, simulated_sessions
from flows.sim.simulator import SimParams
from schemas.settings import Settings
from tests.flows_support import write_session_file

pytestmark = [pytest.mark.integration, pytest.mark.long(115)]


def _env(settings: Settings | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STRIKEFLOW_") and key != "NPY_DISABLE_CPU_FEATURES"
    }
    if settings is not None:
        env["STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers or ""
        for field in type(settings.topics).model_fields:
            env[f"STRIKEFLOW_TOPIC_{field.upper()}"] = getattr(settings.topics, field)
    return env


def _run(module: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _same(one: dict[str, Any], other: dict[str, Any]) -> None:
    for table, rows in one["tables"].items():
        assert other["tables"][table] == rows, table
    assert other["fingerprint"] == one["fingerprint"]
    # The first process serves every process's counts (sinks/cluster_metrics.py): ticks per
    # partition, decisions and fills per shard, whichever process read or decided them.
    assert other["counters"] == one["counters"]


def test_the_live_flow_in_two_processes_writes_every_table_as_one(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.kafka_bootstrap_servers is not None
    writer = feed_writer(settings.kafka_bootstrap_servers, settings)
    # A day of four symbols at 10 ticks a minute (15,600 ticks) fills every partition, trades and
    # holds positions (asserted below); 20 a minute doubled the three runs' work for nothing more.
    for ticks in simulated_sessions(SYMBOLS, SESSION_DAY, 1, SimParams(ticks_per_minute=10)):
        writer.write_ticks(ticks)
    writer.finish()
    del writer
    env = _env(settings)
    module = "tests.integration.live_cluster_run"
    one = _run(module, [str(tmp_path / "p1"), "1", "1"], env)
    assert one["tables"]["paper_fills"], "the run must trade"
    assert one["tables"]["position_snapshots"], "the run must hold positions"
    # Every decision produced was measured from its tick's poll (flows.stages.arrivals).
    assert len(one["measured"]) == len(one["tables"]["auto_decisions"])
    assert all(taken > 0 for taken in one["measured"])
    ticks_in = sum(v for k, v in one["counters"].items() if k.startswith("strikeflow_ticks_in"))
    assert ticks_in == len(one["tables"]["market_ticks"])
    two_processes = _run(module, [str(tmp_path / "p2"), "2", "1"], env)
    _same(one, two_processes)
    two_workers = _run(module, [str(tmp_path / "w2"), "1", "2"], env)
    _same(one, two_workers)


def _descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid`: its pid and command line."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # a zombie is gone, waiting to be reaped
            parents[int(stat.parent.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                try:
                    command = (Path("/proc") / str(child) / "cmdline").read_bytes()
                except OSError:
                    continue
                found[child] = command.replace(b"\0", b" ").decode(errors="replace")
                frontier.append(child)
    return found


def test_a_killed_process_stops_the_run_with_a_clear_error_and_no_orphans(
    settings: Settings, tmp_path: Path
) -> None:
    """SIGKILL the cluster's second process mid-run: the first says which process died and
    exits non-zero, and nothing it started is left running."""
    assert settings.kafka_bootstrap_servers is not None
    writer = feed_writer(settings.kafka_bootstrap_servers, settings)
    for ticks in simulated_sessions(SYMBOLS, SESSION_DAY, 2, SimParams(ticks_per_minute=60)):
        writer.write_ticks(ticks)
    writer.finish()
    del writer
    run = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.live_cluster_run", str(tmp_path), "2", "1"],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and run.poll() is None and time.monotonic() < deadline:
            below = _descendants(run.pid)
            # The cluster's process is the fork server's child (and shows the same command).
            victim = next(
                (pid for pid in below if "forkserver" in below.get(_parent(pid), "")), None
            )
            time.sleep(0.2)
        assert victim is not None, "the second process never started"
        time.sleep(1.0)  # let it join the cluster and work
        os.kill(victim, signal.SIGKILL)
        _, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0
    assert "strikeflow-process-1 exited with status -9" in stderr, stderr[-3000:]
    time.sleep(1.0)
    assert not _descendants(run.pid), "processes left behind"


def _parent(pid: int) -> int:
    try:
        text = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return -1
    return int(text[text.rindex(")") + 2 :].split()[1])


def test_strikeflow_backtest_with_two_processes_prints_the_same_json(tmp_path: Path) -> None:
    """The command a user runs: its --json output stays clean (the second process's Bytewax
    chatter goes to stderr) and names the same run, ticks and fingerprint as one process."""
    # The config's two symbols at 4 ticks a minute: enough to trade; the rows' equality over a
    # bigger file with options is test_determinism's, this checks the command's output.
    ticks = write_session_file(tmp_path / "ticks.parquet", ["AAPL", "MSFT"], 4)
    config = tmp_path / "trend.yaml"
    config.write_text(
        "account_id: trend\nsymbols: [AAPL, MSFT]\nstrategy: {kind: ma_cross, fast: 5, slow: 20}\n"
    )
    outputs = []
    for processes in ("1", "2"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "api",
                "backtest",
                "--config",
                str(config),
                "--file",
                str(ticks),
                "--processes",
                processes,
                "--json",
            ],
            env={**_env(None), "STRIKEFLOW_DATA_DIR": str(tmp_path / processes)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        outputs.append(json.loads(done.stdout))
    one, two = outputs
    assert one["accounts"][0]["trades"], "the run must trade"
    assert (two["run_id"], two["ticks"], two["status"]) == (
        one["run_id"],
        one["ticks"],
        "completed",
    )
    assert two["fingerprint"] == one["fingerprint"]


def test_a_cluster_started_by_hand_on_the_embedded_clickhouse_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    """Each process of `bytewax.run -a` would open chdb: refused in one line, nothing opened."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bytewax.run",
            "flows.live:flow",
            "-i",
            "0",
            "-a",
            "127.0.0.1:9;127.0.0.1:10",
        ],
        env={**_env(settings), "STRIKEFLOW_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "needs a ClickHouse server" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "clickhouse").exists()
