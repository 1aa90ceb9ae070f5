"""The backtest report is a page: a real browser (headless Chromium) renders it with its
interactive charts (plotly.js runs) and the PNG, and the screenshot lands in test-artifacts/.

Chromium comes from Debian's package, which `make test` installs when it is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flows.runs.report import write_report
from flows.runs.results import AccountResult
from flows.trading.analytics import run_metrics
from schemas.common import Direction
from schemas.trading import Trade

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def result() -> AccountResult:
    ts = 1_795_789_800_000 + np.arange(200, dtype=np.int64) * 60_000
    equity = 100_000 + np.cumsum(np.sin(np.arange(200) / 9.0) * 120.0)
    trade = Trade(
        account_id="acct",
        instrument="AAPL",
        underlying="AAPL",
        direction=Direction.LONG,
        quantity=100,
        entry_ts=int(ts[10]),
        exit_ts=int(ts[40]),
        entry_price=190.0,
        exit_price=191.5,
        pnl=148.0,
        commissions=2.0,
    )
    metrics = run_metrics(ts, equity, [trade.pnl], 100_000.0, 0.5, commissions=2.0)
    return AccountResult("acct", metrics, [trade], ts, equity)


def test_the_report_renders_its_chart_and_tables_in_a_browser(tmp_path: Path) -> None:
    page = write_report(tmp_path, "bt-browser", [result()], "file:ticks.csv")
    assert (tmp_path / "bt-browser.png").is_file()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
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
    assert 'id="metrics"' in dom
    assert "bt-browser" in dom
    assert dom.count("<tr>") >= 3  # header rows, the account, the trade
    assert (tmp_path / "plotly.min.js").is_file()  # beside the page: no CDN
    assert '<script src="http' not in page.read_text()  # nothing fetched from the network
    assert dom.count("js-plotly-plot") >= 2  # plotly.js ran: the account's charts are drawn
    assert "Monthly returns" in dom
    metrics_row = dom.split('id="metrics"')[1].split("</table>")[0]
    assert "<td>1</td>" in metrics_row  # the trade count, an integer
    assert "<td>n/a</td>" in metrics_row  # a 200-minute run has no annualised metrics
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, *flags, "--window-size=1300,1000", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    import matplotlib.image

    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).astype(int)
    # The equity line is Plotly's first colour (#636efa), drawn by plotly.js in the browser.
    blue = np.all(np.abs(pixels - np.array([99, 110, 250])) <= 12, axis=-1)
    assert blue.sum() > 200
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "backtest-report.png")  # for a person to look at
