"""Valuing a book at marks: market values, unrealised PnL and equity, exact in cents.

A holding's mark is a price in quote currency per unit (per share, per contract before the
multiplier); values are rounded half up to the cent (see `flows.trading.portfolio`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from flows.trading.paper_broker import PRICE_SCALE, TICKS_PER_CENT
from flows.trading.portfolio import Book, Holding, notional_cents
from schemas.common import money


def mark_value_cents(holding: Holding, mark: float) -> int:
    """Signed market value of `holding` at `mark` (currency per unit), in cents."""
    magnitude = notional_cents(mark, abs(holding.quantity), holding.multiplier)
    return magnitude if holding.quantity > 0 else -magnitude


def market_value(holding: Holding, mark: float) -> float:
    """Signed market value of `holding` at `mark`, in currency (negative for shorts)."""
    return money(mark_value_cents(holding, mark))


def unrealised_cents(holding: Holding, mark: float) -> int:
    """Unrealised PnL in cents: market value minus cost basis (both signed)."""
    return mark_value_cents(holding, mark) - holding.cost_basis_cents


def unrealised_pnl(holding: Holding, mark: float) -> float:
    """Unrealised PnL at `mark`, in currency."""
    return money(unrealised_cents(holding, mark))


def equity_cents(book: Book, marks: Mapping[str, float]) -> int:
    """Cash plus every holding marked at `marks[instrument]`, in cents.

    Every holding needs a mark (currency per unit).
    """
    return book.cash_cents + sum(
        mark_value_cents(holding, marks[name]) for name, holding in book.holdings.items()
    )


def equity(book: Book, marks: Mapping[str, float]) -> float:
    """Account equity in currency: cash + sum of quantity * mark * multiplier, to the cent."""
    return money(equity_cents(book, marks))


def equity_series(
    book: Book, marks: Mapping[str, npt.NDArray[np.float64]]
) -> npt.NDArray[np.float64]:
    """Equity in currency at each point of equally long arrays of marks, the book unchanged.

    This is how the account stage marks to market in bulk between events. Each point equals
    `equity(book, {name: marks[name][i]})` exactly: the same grid rounding and the same
    half-up cents, in int64 (exact while price ticks x units stays below 9.2e18, i.e. any
    realistic position). Every holding needs an array; arrays for instruments not held are
    ignored but still set the length, so a flat book returns its cash at every point.
    """
    lengths = {len(values) for values in marks.values()}
    if len(lengths) > 1:
        raise ValueError(f"mark arrays differ in length: {sorted(lengths)}")
    total = np.full(lengths.pop() if lengths else 0, book.cash_cents, dtype=np.int64)
    for name, holding in book.holdings.items():
        ticks = np.rint(np.asarray(marks[name], dtype=np.float64) * PRICE_SCALE).astype(np.int64)
        units = abs(holding.quantity) * holding.multiplier
        value = (ticks * units + TICKS_PER_CENT // 2) // TICKS_PER_CENT
        if holding.quantity > 0:
            total += value
        else:
            total -= value
    result: npt.NDArray[np.float64] = total / 100
    return result


def equity_points(book: Book, marks: Mapping[str, Sequence[float]]) -> list[float] | None:
    """`equity_series` over a few points in plain Python, where numpy's cost per call exceeds
    the work: the same values (Python's `round` of a float rounds half to even on the same
    binary product as `np.rint`, and the integer steps are the same), or None when a mark is
    not finite (the caller then takes `equity_series`, whatever numpy makes of it)."""
    lengths = {len(values) for values in marks.values()}
    if len(lengths) > 1:
        raise ValueError(f"mark arrays differ in length: {sorted(lengths)}")
    totals = [book.cash_cents] * (lengths.pop() if lengths else 0)
    half = TICKS_PER_CENT // 2
    try:
        for name, holding in book.holdings.items():
            units = abs(holding.quantity) * holding.multiplier
            sign = 1 if holding.quantity > 0 else -1
            totals = [
                total + sign * ((round(mark * PRICE_SCALE) * units + half) // TICKS_PER_CENT)
                for total, mark in zip(totals, marks[name], strict=True)
            ]
    except (ValueError, OverflowError):  # NaN or infinite marks
        return None
    return [total / 100 for total in totals]
