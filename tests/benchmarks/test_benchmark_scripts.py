"""Every benchmark script imports, as `make bench` runs it (from the repository root, with
benchmarks/ on the path): a helper moved between scripts must not leave one that fails only
when someone runs the benchmarks."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import REPO

SCRIPTS = sorted(path.stem for path in (REPO / "benchmarks").glob("*.py"))


def test_every_benchmark_script_imports() -> None:
    assert {"flow_throughput", "broker_alone", "walk_forward", "backtest_peers"} <= set(SCRIPTS)
    imports = "; ".join(f"import {name}" for name in SCRIPTS)
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, 'benchmarks'); {imports}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
