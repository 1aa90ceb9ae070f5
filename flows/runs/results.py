"""What a finished run did, per account: typed metrics, round trips and the equity curve,
read back from the run's rows in ClickHouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from clickhouse_connect.driver.client import Client

from flows.trading.analytics import run_metrics
from flows.trading.portfolio import ClosedTrade, FillRequest, apply_fill, new_book
from flows.trading.research.excursions import Excursion, PriceSeries, excursions
from flows.trading.research.metrics import (
    AccountActivity,
    SharpeSample,
    deflate,
    return_grid,
    with_research_metrics,
)
from schemas.common import ExitReason
from schemas.config import AlgorithmConfig, BacktestRun
from schemas.metrics import RunMetrics
from schemas.tables import trusted
from schemas.trading import Fill, Trade
from sinks.store.runs import AccountHistory, SnapshotColumns, account_histories


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
            _trade(closed, fill.account_id, fill.exit_reason) for closed in outcome.trades
        )
    return trades


def _trade(closed: ClosedTrade, account_id: str, exit_reason: ExitReason) -> Trade:
    """`closed.to_trade(account_id)` with the closing fill's exit reason, built without a
    validation (the booking made every value; a run has a trade for every other fill): the
    same model, tests/flows/runs/test_results.py checks."""
    return trusted(Trade, **closed.trade_fields(account_id), exit_reason=exit_reason)


def account_results(
    client: Client, run_id: str, configs: Sequence[AlgorithmConfig]
) -> list[AccountResult]:
    """Metrics, trades and the equity curve of each config's account of a finished run, read
    back in two queries for them all (snapshots as columns, fills as models)."""
    histories = account_histories(client, run_id, [config.account_id for config in configs])
    return [_account_result(config, histories[config.account_id]) for config in configs]


def _account_result(config: AlgorithmConfig, history: AccountHistory) -> AccountResult:
    snapshots, fills = history.snapshots, history.fills
    on_account = snapshots.instrument == ""
    ts, equity = snapshots.ts[on_account], snapshots.equity[on_account]
    invested_ts = np.unique(snapshots.ts[~on_account])
    trades = trades_from_fills(fills, config.starting_cash)
    exposure = len(invested_ts) / len(ts) if len(ts) else 0.0
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
        invested=np.isin(ts, invested_ts),
    )
    metrics = with_research_metrics(metrics, ts, equity, config.starting_cash, activity)
    multipliers = {f.instrument: f.multiplier for f in fills}
    return AccountResult(
        config.account_id,
        metrics,
        trades,
        ts,
        equity,
        starting_equity=config.starting_cash,
        invested=np.asarray(activity.invested, dtype=bool),
        excursions=excursions(trades, _instrument_marks(snapshots, ~on_account), multipliers),
    )


def _instrument_marks(snapshots: SnapshotColumns, held: np.ndarray) -> dict[str, PriceSeries]:
    """Each instrument's marks in its position snapshots (rows `held`), by time."""
    names = snapshots.instrument[held]
    ts, marks = snapshots.ts[held], snapshots.mark_price[held]
    series = {}
    for instrument in dict.fromkeys(names.tolist()):
        rows = names == instrument
        series[instrument] = PriceSeries(ts[rows], marks[rows])
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
