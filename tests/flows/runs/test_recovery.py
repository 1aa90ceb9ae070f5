"""A run killed with SIGKILL mid-way and resumed from Bytewax recovery writes exactly the rows
of an uninterrupted run (ClickHouse collapses the replayed epoch's rows), so its fingerprint
is the uninterrupted run's too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from schemas.config import AlgorithmConfig
from schemas.settings import Settings
from tests.flows.stages.test_flow_kafka import CONFIGS
from tests.flows_support import feed_session

pytestmark = [pytest.mark.integration, pytest.mark.long(30)]


def _env(settings: Settings, data_dir: Path, configs: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "STRIKEFLOW_DATA_DIR": str(data_dir),
        "STRIKEFLOW_CLICKHOUSE_DSN": f"chdb://{data_dir / 'clickhouse'}",
        "STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "STRIKEFLOW_TEST_CONFIGS": str(configs),
        "STRIKEFLOW_BATCH_SIZE": "400",
        **extra,
    }
    for field in type(settings.topics).model_fields:
        env[f"STRIKEFLOW_TOPIC_{field.upper()}"] = getattr(settings.topics, field)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)


def _dump(data_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Every table of the live run, and `fingerprint`, read from another process."""
    done = _run(
        [
            sys.executable,
            "-m",
            "tests.dump_tables",
            f"chdb://{data_dir / 'clickhouse'}",
            "strikeflow",
            "live",
        ],
        env,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_run_killed_and_resumed_equals_an_uninterrupted_run(
    settings: Settings, tmp_path: Path
) -> None:
    feed_session(settings, ["AAPL", "MSFT"], ticks_per_minute=6)
    configs = tmp_path / "configs.json"
    configs.write_bytes(TypeAdapter(list[AlgorithmConfig]).dump_json(CONFIGS))
    flow = [sys.executable, "-m", "bytewax.run", "tests.flow_main:flow"]

    whole_dir = tmp_path / "whole"
    whole = _run(flow, _env(settings, whole_dir, configs))
    assert whole.returncode == 0, whole.stderr

    crash_dir = tmp_path / "crashed"
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    env = _env(settings, crash_dir, configs)
    assert _run([sys.executable, "-m", "bytewax.recovery", str(recovery), "1"], env).returncode == 0
    with_recovery = [*flow, "-r", str(recovery), "-s", "1", "-b", "0"]
    killed = _run(with_recovery, {**env, "STRIKEFLOW_TEST_KILL_AFTER": "6"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = _dump(crash_dir, env)
    resumed = _run(with_recovery, env)
    assert resumed.returncode == 0, resumed.stderr

    expected = _dump(whole_dir, env)
    assert expected["auto_decisions"]
    assert len(partial["market_ticks"]) < len(expected["market_ticks"]), "the kill came too late"
    resumed_rows = _dump(crash_dir, env)
    assert partial["fingerprint"] != expected["fingerprint"]
    assert resumed_rows["fingerprint"] == expected["fingerprint"]
    assert resumed_rows == expected
