"""What a finished run did, per account: typed metrics, round trips and the equity curve,
read back from the run's rows in ClickHouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from clickhouse_connect.driver.client import Client

from flows.trading.analytics import run_metrics
from flows.trading.portfolio import FillRequest, apply_fill, new_book
from flows.trading.research.excursions import Excursion, PriceSeries, excursions
from flows.trading.research.metrics import (
    AccountActivity,
    SharpeSample,
    deflate,
    return_grid,
    with_research_metrics,
)
from schemas.config import AlgorithmConfig, BacktestRun
from schemas.metrics import RunMetrics
from schemas.trading import Fill, PositionSnapshot, Trade
from sinks.store.runs import account_history


@dataclass(slots=True)
class AccountResult:
    account_id: str
    metrics: RunMetrics
    trades: list[Trade]
    ts: np.ndarray = field(repr=False)
    equity: np.ndarray = field(repr=False)
    starting_equity: float = 0.0
    invested: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool), repr=False)
    excursions: list[Excursion] = field(default_factory=list, repr=False)


@dataclass(slots=True)
class BacktestResult:
    run: BacktestRun
    accounts: list[AccountResult]


def trades_from_fills(fills: Sequence[Fill], starting_cash: float) -> list[Trade]:
    """Round trips, rebuilt by booking the fills again in event order (pure and exact); each
    says why it closed (the closing fill's `exit_reason`)."""
    book = new_book(starting_cash)
    trades: list[Trade] = []
    ordered = sorted(fills, key=lambda f: (f.ts, f.fill_id))
    for fill in ordered:
        outcome = apply_fill(book, FillRequest.from_row(fill))
        trades.extend(
            trade.to_trade(fill.account_id).model_copy(update={"exit_reason": fill.exit_reason})
            for trade in outcome.trades
        )
    return trades


def account_result(client: Client, run_id: str, config: AlgorithmConfig) -> AccountResult:
    """Metrics, trades and the equity curve of one account of a finished run."""
    snapshots, fills = account_history(client, run_id, config.account_id)
    account_rows = sorted((s for s in snapshots if s.instrument == ""), key=lambda s: s.ts)
    invested = {s.ts for s in snapshots if s.instrument != ""}
    trades = trades_from_fills(fills, config.starting_cash)
    ts = np.array([s.ts for s in account_rows], dtype=np.int64)
    equity = np.array([s.equity for s in account_rows], dtype=np.float64)
    exposure = len(invested) / len(account_rows) if account_rows else 0.0
    metrics = run_metrics(
        ts,
        equity,
        [t.pnl for t in trades],
        config.starting_cash,
        exposure,
        commissions=round(sum(f.commission for f in fills), 2),
    )
    activity = AccountActivity(
        trade_pnls=[t.pnl for t in trades],
        spans=[(t.entry_ts, t.exit_ts) for t in trades],
        traded_notional=sum(f.price * f.quantity * f.multiplier for f in fills),
        invested=np.array([t in invested for t in ts.tolist()], dtype=bool),
    )
    metrics = with_research_metrics(metrics, ts, equity, config.starting_cash, activity)
    marks = _instrument_marks([s for s in snapshots if s.instrument != ""])
    multipliers = {f.instrument: f.multiplier for f in fills}
    return AccountResult(
        config.account_id,
        metrics,
        trades,
        ts,
        equity,
        starting_equity=config.starting_cash,
        invested=np.asarray(activity.invested, dtype=bool),
        excursions=excursions(trades, marks, multipliers),
    )


def _instrument_marks(rows: Sequence[PositionSnapshot]) -> dict[str, PriceSeries]:
    """Each instrument's marks in its position snapshots, by time."""
    by_instrument: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        by_instrument.setdefault(row.instrument, []).append((row.ts, row.mark_price))
    series = {}
    for instrument, points in by_instrument.items():
        points.sort()
        series[instrument] = PriceSeries(
            np.array([p[0] for p in points], dtype=np.int64),
            np.array([p[1] for p in points], dtype=np.float64),
        )
    return series


def deflated(results: list[AccountResult]) -> list[AccountResult]:
    """The accounts with `deflated_sharpe` against the best of all of them: the accounts of one
    run are the trials of its sweep (see `flows.trading.research.metrics.deflate`)."""
    samples = [
        SharpeSample.of(return_grid(r.ts, r.equity, r.starting_equity).returns) for r in results
    ]
    for result, metrics in zip(
        results, deflate([r.metrics for r in results], samples), strict=True
    ):
        result.metrics = metrics
    return results
