"""The flow in two processes writes exactly what it writes in one (issue 17).

Each run is a subprocess (chdb: one engine per data directory per process; the cluster's
first process is the only one that opens it). The live flow reads topics filled once on the
real broker, so every variant sees the same messages; a file backtest replays one Parquet
file. Every table of the run is compared row by row, and the run fingerprints must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flows.runs.demo import SESSION_DAY, SYMBOLS
from flows.sim.feed import feed_writer, simulated_sessions
from flows.sim.simulator import SimParams
from schemas.settings import Settings

pytestmark = pytest.mark.integration

OLD_CPU = "X86_V3 X86_V4 AVX512_ICL"  # numpy's baseline kernels, as on a CPU without AVX2


def _env(settings: Settings | None, npy_disabled: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STRIKEFLOW_") and key != "NPY_DISABLE_CPU_FEATURES"
    }
    if npy_disabled is not None:
        env["NPY_DISABLE_CPU_FEATURES"] = npy_disabled
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


def test_the_live_flow_in_two_processes_writes_every_table_as_one(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.kafka_bootstrap_servers is not None
    writer = feed_writer(settings.kafka_bootstrap_servers, settings)
    for ticks in simulated_sessions(SYMBOLS, SESSION_DAY, 1, SimParams(ticks_per_minute=20)):
        writer.write_ticks(ticks)
    writer.finish()
    del writer
    env = _env(settings, None)
    module = "tests.integration.live_cluster_run"
    one = _run(module, [str(tmp_path / "p1"), "1", "1"], env)
    assert one["tables"]["paper_fills"], "the run must trade"
    assert one["tables"]["position_snapshots"], "the run must hold positions"
    two_processes = _run(module, [str(tmp_path / "p2"), "2", "1"], env)
    _same(one, two_processes)
    two_workers = _run(module, [str(tmp_path / "w2"), "1", "2"], env)
    _same(one, two_workers)


@pytest.mark.parametrize("npy_disabled", [None, OLD_CPU], ids=["default-simd", "baseline-simd"])
def test_a_file_backtest_in_two_processes_is_identical_to_one(
    tmp_path: Path, npy_disabled: str | None
) -> None:
    """With numpy's baseline kernels too (the children inherit the environment)."""
    one = _run("tests.determinism_run", [str(tmp_path / "p1"), "1"], _env(None, None))
    two = _run("tests.determinism_run", [str(tmp_path / "p2"), "2"], _env(None, npy_disabled))
    assert one["tables"]["paper_fills"], "the run must trade"
    _same(one, two)
