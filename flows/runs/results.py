"""What a finished run did, per account: typed metrics, round trips and the equity curve,
read back from the run's rows in ClickHouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from clickhouse_connect.driver.client import Client

from flows.trading.analytics import run_metrics
from flows.trading.portfolio import FillRequest, apply_fill, new_book
from schemas.config import AlgorithmConfig, BacktestRun
from schemas.metrics import RunMetrics
from schemas.trading import Fill, Trade
from sinks.store.runs import account_history


@dataclass(slots=True)
class AccountResult:
    account_id: str
    metrics: RunMetrics
    trades: list[Trade]
    ts: np.ndarray = field(repr=False)
    equity: np.ndarray = field(repr=False)


@dataclass(slots=True)
class BacktestResult:
    run: BacktestRun
    accounts: list[AccountResult]


def trades_from_fills(fills: Sequence[Fill], starting_cash: float) -> list[Trade]:
    """Round trips, rebuilt by booking the fills again in event order (pure and exact)."""
    book = new_book(starting_cash)
    trades: list[Trade] = []
    ordered = sorted(fills, key=lambda f: (f.ts, f.fill_id))
    for fill in ordered:
        outcome = apply_fill(book, FillRequest.from_row(fill))
        trades.extend(trade.to_trade(fill.account_id) for trade in outcome.trades)
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
    return AccountResult(config.account_id, metrics, trades, ts, equity)
