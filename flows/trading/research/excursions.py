"""Maximum adverse and favourable excursion of each round trip.

An excursion is how far the instrument's price moved against (adverse) or for (favourable)
the position while it was open, measured from the entry price: over the entry and exit prices
and every mark of the instrument at a time from entry to exit (both included). Both are
reported as magnitudes (>= 0): in currency (price move x quantity x contract multiplier, gross
of commissions) and as a fraction of the entry price (0.02 is 2 %). A long position's adverse
move is down, a short position's up. Marks come from the account's position snapshots, so
between two snapshots a move is seen only if it shows in one of them (or at entry or exit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from schemas.common import Direction
from schemas.trading import Trade


@dataclass(frozen=True, slots=True)
class Excursion:
    """One round trip's excursions; `mae`/`mfe` in currency, `*_pct` as fractions of entry."""

    mae: float
    mfe: float
    mae_pct: float
    mfe_pct: float

    def as_dict(self) -> dict[str, float]:
        return {"mae": self.mae, "mfe": self.mfe, "mae_pct": self.mae_pct, "mfe_pct": self.mfe_pct}


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Marks of one instrument at sorted event times (UTC ms)."""

    ts: npt.NDArray[np.int64]
    price: npt.NDArray[np.float64]


def excursion(trade: Trade, marks: PriceSeries | None, multiplier: int = 1) -> Excursion:
    """The excursions of `trade` over its entry and exit prices and the `marks` in between."""
    prices = [trade.entry_price, trade.exit_price]
    if marks is not None and marks.ts.size:
        lo = int(np.searchsorted(marks.ts, trade.entry_ts, side="left"))
        hi = int(np.searchsorted(marks.ts, trade.exit_ts, side="right"))
        prices.extend(marks.price[lo:hi].tolist())
    low, high = min(prices), max(prices)
    entry = trade.entry_price
    if trade.direction == Direction.SHORT:
        adverse, favourable = high - entry, entry - low
    else:
        adverse, favourable = entry - low, high - entry
    size = trade.quantity * multiplier
    return Excursion(
        mae=round(adverse * size, 2),
        mfe=round(favourable * size, 2),
        mae_pct=adverse / entry if entry > 0 else 0.0,
        mfe_pct=favourable / entry if entry > 0 else 0.0,
    )


def excursions(
    trades: list[Trade],
    marks: Mapping[str, PriceSeries],
    multipliers: Mapping[str, int],
) -> list[Excursion]:
    """The excursions of each trade, with the marks and multiplier of its instrument."""
    return [excursion(t, marks.get(t.instrument), multipliers.get(t.instrument, 1)) for t in trades]
