"""A moving-average cross over ten ticks, worked by hand from signal to daily result.

mids:  10 10 10 11 12 13 12 11 10 9   (bid = mid - 0.01, ask = mid + 0.01)
SMA(2) and SMA(3) are both warm at tick 2 (10 = 10: fast not above slow).
tick 3: SMA2 10.5 > SMA3 10.333  -> long: buy 100 at the ask 11.01, commission max(1.00, 0.50)
tick 7: SMA2 11.5 < SMA3 12.0    -> flat: sell 100 at the bid 10.99, commission 1.00
The round trip loses (10.99 - 11.01) * 100 = -2.00 gross, -4.00 after both commissions;
the buy's fill records -1.00 (its commission), the sell's -3.00. Equity ends at 99,996.00.
"""

from __future__ import annotations

import json

import numpy as np

from flows.trading.ticks import TickColumns
from schemas.config import AlgorithmConfig, Costs, MovingAverageCross, RiskLimits
from tests.pipeline import run

MIDS = [10, 10, 10, 11, 12, 13, 12, 11, 10, 9]
START = 1_795_791_600_000  # 2026-11-27 10:00 New York


def ticks() -> TickColumns:
    mids = np.array(MIDS, dtype=float)
    n = len(mids)
    return TickColumns(
        ts=START + np.arange(n, dtype=np.int64) * 1000,
        codes=np.zeros(n, dtype=np.int32),
        symbols=("XYZ",),
        bid=mids - 0.01,
        ask=mids + 0.01,
        last=mids,
        volume=np.full(n, 100, dtype=np.int64),
    )


CONFIG = AlgorithmConfig(
    account_id="hand",
    symbols=["XYZ"],
    strategy=MovingAverageCross(fast=2, slow=3),
    costs=Costs(slippage_bps=0.0, commission_per_share=0.005, min_commission=1.0),
    limits=RiskLimits(),
)


def test_the_hand_worked_round_trip() -> None:
    result = run(ticks(), [CONFIG], 3)
    out = {
        kind: [json.loads(row) for row in rows] for kind, rows in result.items() if kind != "market"
    }
    signals = sorted(out["signals"], key=lambda s: s["ts"])
    assert [(s["ts"] - START) // 1000 for s in signals] == [3, 7]
    assert [s["direction"] for s in signals] == ["long", "flat"]
    assert all(d["approved"] for d in out["decisions"])
    fills = sorted(out["fills"], key=lambda f: f["ts"])
    assert [
        (f["side"], f["quantity"], f["price"], f["commission"], f["realised_pnl"]) for f in fills
    ] == [
        ("buy", 100, 11.01, 1.0, -1.0),
        ("sell", 100, 10.99, 1.0, -3.0),
    ]
    [day] = [d for d in out["daily"] if d["ts"] == max(x["ts"] for x in out["daily"])]
    assert (day["start_equity"], day["end_equity"], day["pnl"]) == (100_000.0, 99_996.0, -4.0)
    assert (day["trades"], day["losing_trades"], day["commissions"]) == (1, 1, 2.0)
    assert day["realised_pnl"] == -2.0  # gross of commissions
