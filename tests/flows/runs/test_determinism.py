"""The same backtest gives the same rows and the same fingerprint at every numpy SIMD level,
and in one process or two.

numpy picks its exp/log/power kernels by CPU feature (AVX-512, AVX2, baseline) and they round
differently, so this runs one short backtest with options, Greeks and position snapshots
(tests/determinism_run.py: simulate, write a file, replay it with the demo's accounts) in two
subprocesses: one with numpy's default dispatch and one with
`NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL"`, as on a CPU without AVX2/AVX-512. So
`make test` covers both SIMD levels through this one test, whatever the machine runs it with.
On a CPU without those features both runs take the baseline path and the test still checks
that a run is reproducible. A third run replays the file in two processes (issue 17: the first
process owns ClickHouse, rows reach it over Bytewax's exchange) and must write the same.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.long(75)]

OLD_CPU = "X86_V3 X86_V4 AVX512_ICL"


def _run(data_dir: Path, disabled: str | None, processes: int = 1) -> dict[str, Any]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STRIKEFLOW_") and key != "NPY_DISABLE_CPU_FEATURES"
    }
    if disabled is not None:
        env["NPY_DISABLE_CPU_FEATURES"] = disabled
    done = subprocess.run(
        [sys.executable, "-m", "tests.determinism_run", str(data_dir), str(processes)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_backtest_is_identical_with_and_without_avx512_and_avx2_and_in_two_processes(
    tmp_path: Path,
) -> None:
    default = _run(tmp_path / "default", None)
    old_cpu = _run(tmp_path / "old-cpu", OLD_CPU)
    two_processes = _run(tmp_path / "two-processes", None, processes=2)
    assert default["tables"]["paper_fills"], "the run must trade"
    assert default["tables"]["option_greeks"][0] > 0, "the run must price options"
    occ = re.compile(r"[A-Z]+\d{6}[CP]\d{8}")
    assert any(occ.search(row) for row in default["tables"]["position_snapshots"]), "options held"
    assert len(default["fingerprint"]) == 64
    for other in (old_cpu, two_processes):
        for table, rows in default["tables"].items():
            assert other["tables"][table] == rows, table
        assert other["fingerprint"] == default["fingerprint"]
