"""The research page renders in a real browser (headless Chromium): the walk-forward chart with
the stitched out-of-sample line, the windows table and the Monte Carlo chart and table."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flows.runs.research_report import write_research_report
from flows.trading.research.monte_carlo import monte_carlo
from flows.trading.research.walk_forward import walk_forward
from flows.trading.research.windows import WalkForwardPlan, walk_forward_windows
from tests.flows.trading.research.test_walk_forward import DAY, T0, account

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUT_OF_SAMPLE_BLUE = np.array([0x1F, 0x5F, 0xBF])


def reports() -> dict[str, object]:
    rng = np.random.default_rng(2)
    first = account("fast5", rng.normal(0.001, 0.004, 120).tolist(), 5)
    second = account("fast20", rng.normal(0.0, 0.004, 120).tolist(), 20)
    windows = walk_forward_windows(T0, T0 + 120 * DAY, WalkForwardPlan(30 * DAY, 15 * DAY))
    walk = walk_forward([first, second], windows, "sharpe")
    walk["in_sample_best"] = {
        "account_id": "fast5",
        "metrics": walk["windows"][0]["in_sample"],
        "equity": {"ts": first.ts.tolist(), "equity": first.equity.tolist()},
    }
    carlo = {
        a.account_id: monte_carlo(
            [t.pnl for t in a.trades], [t.exit_ts for t in a.trades], 10_000.0, T0, 200, 1
        )
        for a in (first, second)
    }
    return {"walk_forward": walk, "monte_carlo": carlo}


def test_the_research_page_renders_its_charts_and_tables(tmp_path: Path) -> None:
    page = write_research_report(tmp_path, "bt-research", reports())
    assert page.name == "bt-research-research.html"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    assert CHROMIUM is not None, "chromium is missing: `make test` installs Debian's package"
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Walk-forward: 2 combinations, 6 windows" in dom
    assert dom.count('src="data:image/png;base64,') == 2
    assert "Monte Carlo of trades: 200 runs, seed 1" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, *flags, "--window-size=1300,900", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    import matplotlib.image

    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).round().astype(int)
    blue = np.all(np.abs(pixels - OUT_OF_SAMPLE_BLUE) <= 8, axis=-1)
    assert blue.sum() > 200  # the stitched out-of-sample line was drawn and shown
