"""The ranking table `strikeflow backtest` prints: each metric in its unit, as the report
prints it (counts as integers, ratios in percent), and annualised metrics of a run too short
for them as n/a with the reason under the table."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from api.cli.summary import print_backtest
from flows.runs.results import AccountResult, BacktestResult
from flows.trading.analytics import run_metrics
from schemas.common import RunStatus
from schemas.config import BacktestRun

DAY_MS = 86_400_000
START = 1_795_789_800_000


def account(name: str, days: float, pnls: list[float]) -> AccountResult:
    ts = START + np.linspace(0, days * DAY_MS, 400).astype(np.int64)
    equity = 100_000 + np.cumsum(np.sin(np.arange(400) / 7.0) * 50.0) + np.arange(400) * 2.0
    metrics = run_metrics(ts, equity, pnls, 100_000.0, 0.5, commissions=0.0)
    return AccountResult(name, metrics, [], ts, equity, starting_equity=100_000.0)


def printed(accounts: list[AccountResult]) -> str:
    run = BacktestRun(
        run_id="bt-table",
        status=RunStatus.COMPLETED,
        progress=1.0,
        source="file:bars.csv",
        accounts=[a.account_id for a in accounts],
        configs_json="[]",
        ticks=400,
        created_ts=START,
        updated_ts=START,
    )
    out = io.StringIO()
    print_backtest(Console(file=out, width=160), BacktestResult(run, accounts))
    return out.getvalue()


def row_of(text: str, name: str) -> list[str]:
    line = next(line for line in text.splitlines() if f" {name} " in line)
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def test_a_short_run_prints_counts_as_integers_ratios_in_percent_and_sharpe_as_na() -> None:
    short = account("intraday", 0.25, [12.5, -3.0, 7.25])
    text = printed([short])
    rank, name, total_return, sharpe, drawdown, win_rate, profit_factor, trades = row_of(
        text, "intraday"
    )
    assert (rank, name, trades) == ("1", "intraday", "3")
    assert sharpe == "n/a"
    assert total_return == f"{short.metrics.total_return * 100:,.2f} %"
    assert drawdown == f"{short.metrics.max_drawdown * 100:,.2f} %"
    assert win_rate == "66.67 %"
    assert profit_factor == f"{19.75 / 3.0:,.4f}"
    assert "a run shorter than 2 days has too few" in text


def test_a_long_run_prints_its_sharpe_and_no_reason() -> None:
    long = account("years", 800, [10.0, 20.0])
    text = printed([long])
    sharpe = row_of(text, "years")[3]
    assert sharpe != "n/a"
    assert abs(float(sharpe.replace(",", "")) - long.metrics.sharpe) < 0.01  # as rounded
    assert "too few" not in text
