"""A run's accounts read back for their results: snapshots as columns, fills as models, by
account, against the real ClickHouse engine. Values are compared exactly: both readers return
the same stored Float64, and the results must not move by a bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from clickhouse_connect.driver.client import Client

from schemas.trading import Fill, PositionSnapshot
from sinks.store.rows import insert, select
from sinks.store.runs import account_histories

pytestmark = pytest.mark.integration

T0 = 1_795_000_000_000


def snapshot(run: str, account: str, ts: int, instrument: str, equity: float) -> PositionSnapshot:
    values: dict[str, Any] = {
        "row_id": f"{account}:{ts}:{instrument or 'account'}",
        "run_id": run,
        "account_id": account,
        "ts": ts,
        "instrument": instrument,
        "underlying": instrument,
        "quantity": 10 if instrument else 0,
        "avg_price": 100.0 if instrument else 0.0,
        "mark_price": 100.0 + (ts - T0) / 1000 if instrument else 0.0,
        "market_value": 0.0,
        "unrealised_pnl": 0.0,
        "realised_pnl": 0.0,
        "delta": 0.0,
        "gamma": 0.0,
        "vega": 0.0,
        "theta": 0.0,
        "cash": equity,
        "equity": equity,
    }
    return PositionSnapshot(**values)


def fill(run: str, account: str, n: int, ts: int) -> Fill:
    return Fill(
        fill_id=f"{account}-f{n}",
        order_id=f"{account}-o{n}",
        run_id=run,
        account_id=account,
        ts=ts,
        instrument="AAPL",
        underlying="AAPL",
        asset_class="equity",  # type: ignore[arg-type]
        side="buy" if n % 2 == 0 else "sell",  # type: ignore[arg-type]
        quantity=10,
        price=100.0 + n,
        multiplier=1,
        commission=1.0,
        slippage=0.0,
        realised_pnl=0.0,
        reason="signal",
    )


def test_histories_hold_each_accounts_snapshots_as_columns_and_its_fills_in_table_order(
    module_ch: Client,
) -> None:
    run = "histories"
    rows = [
        snapshot(run, account, T0 + k * 60_000, instrument, 100_000.0 + k)
        for account in ("beta", "alpha")
        for k in range(5, -1, -1)  # inserted newest first: the read sorts
        for instrument in ("", "AAPL", "MSFT")
        if not (account == "beta" and instrument == "MSFT")
    ]
    rows.append(snapshot("other-run", "alpha", T0, "", 1.0))
    insert(module_ch, list(rows))
    insert(module_ch, [snapshot(run, "alpha", T0, "", 99_999.0)])  # replaces: FINAL keeps one
    fills = [fill(run, "alpha", n, T0 + (3 - n) * 1000) for n in range(4)]
    insert(module_ch, list(fills))

    found = account_histories(module_ch, run, ["alpha", "beta", "idle"])

    assert list(found) == ["alpha", "beta", "idle"]
    for account in ("alpha", "beta"):
        expected = sorted(
            select(
                module_ch,
                PositionSnapshot,
                "run_id = {run:String} AND account_id = {account:String}",
                {"run": run, "account": account},
            ),
            key=lambda s: (s.ts, s.instrument),
        )
        columns = found[account].snapshots
        assert columns.ts.tolist() == [s.ts for s in expected]
        assert columns.instrument.tolist() == [s.instrument for s in expected]
        assert columns.mark_price.tolist() == [s.mark_price for s in expected]
        assert columns.equity.tolist() == [s.equity for s in expected]
    alpha = found["alpha"].snapshots
    assert alpha.equity[0] == 99_999.0
    assert len(alpha.ts) == 18
    assert set(found["beta"].snapshots.instrument.tolist()) == {"", "AAPL"}
    assert [f.fill_id for f in found["alpha"].fills] == [
        "alpha-f3",
        "alpha-f2",
        "alpha-f1",
        "alpha-f0",
    ]
    # Built without validation (`select_own`), yet the models that were written: equal, and
    # the same JSON on a topic.
    assert found["alpha"].fills == fills[::-1]
    assert [f.model_dump_json() for f in found["alpha"].fills] == [
        f.model_dump_json() for f in fills[::-1]
    ]
    assert found["beta"].fills == []
    idle = found["idle"]
    assert idle.fills == []
    assert len(idle.snapshots.ts) == 0
    assert idle.snapshots.ts.dtype == np.int64
