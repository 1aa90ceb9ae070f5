"""A file backtest with exits through the real flow (Bytewax, chdb): the orders are rows of
`paper_orders`, closing fills carry their `exit_reason`, and so do the run's trades."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clickhouse_connect.driver.client import Client

from flows.runs.backtest import Source, run_backtest
from flows.sim.simulator import SimParams, simulate_session
from schemas.config import AlgorithmConfig, Exits, MovingAverageCross
from schemas.settings import Settings

pytestmark = pytest.mark.integration


def write_session(path: Path) -> None:
    ticks, _ = simulate_session(["AAPL"], date(2026, 11, 25), SimParams(seed=3, ticks_per_minute=8))
    names = np.asarray(ticks.symbols, dtype=object)[ticks.codes]
    table = pa.table(
        {
            "timestamp": ticks.ts,
            "symbol": pa.array(names.tolist(), type=pa.string()),
            "bid": ticks.bid,
            "ask": ticks.ask,
            "last": ticks.last,
            "volume": ticks.volume,
        }
    )
    pq.write_table(table, path)


def test_a_backtest_with_exits_records_orders_and_exit_reasons(
    settings: Settings, ch: Client, tmp_path: Path
) -> None:
    path = tmp_path / "ticks.parquet"
    write_session(path)
    config = AlgorithmConfig(
        account_id="exits",
        symbols=["AAPL"],
        strategy=MovingAverageCross(fast=5, slow=20),
        exits=Exits(stop_loss_pct=0.002, take_profit_pct=0.003, trailing_stop_pct=0.0015),
    )
    result = run_backtest(settings, [config], Source(file=path))
    run_id = result.run.run_id
    orders = ch.query(
        "SELECT purpose, status, count() FROM paper_orders FINAL WHERE run_id = {r:String} "
        "GROUP BY purpose, status",
        parameters={"r": run_id},
    ).result_rows
    counts = {(purpose, status): n for purpose, status, n in orders}
    assert counts[("entry", "new")] == counts[("entry", "filled")] > 0
    assert counts[("stop_loss", "new")] > 0
    assert sum(n for (p, s), n in counts.items() if p != "entry" and s == "filled") > 0
    assert sum(n for (p, s), n in counts.items() if s == "cancelled") > 0
    reasons = dict(
        ch.query(
            "SELECT exit_reason, count() FROM paper_fills FINAL WHERE run_id = {r:String} "
            "GROUP BY exit_reason",
            parameters={"r": run_id},
        ).result_rows
    )
    assert reasons[""] == counts[("entry", "filled")]
    assert {"stop_loss", "take_profit", "trailing_stop"} & set(reasons)
    [account] = result.accounts
    assert account.trades
    assert {t.exit_reason.value for t in account.trades} <= set(reasons) - {""}
    assert sum(reasons[k] for k in reasons if k) == len(account.trades)
    assert result.run.configs()[0].exits == config.exits
