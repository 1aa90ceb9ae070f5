"""Paper execution: fill prices, slippage and commissions.

Conventions:
- Prices are per unit (per share, or per option contract before the 100x multiplier) in the quote
  currency. Every price this module returns lies on the 0.0001 grid that portfolio accounting
  books on (see `to_price_ticks`), so a fill's recorded price and its cash flow always agree.
- Money is returned in integer cents.
- Pure functions of their arguments: no clock, no I/O. Quotes are assumed validated upstream.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import numpy as np
import numpy.typing as npt

from schemas.common import AssetClass, Side
from schemas.config import Costs

PRICE_SCALE = 10_000
"""Price grid steps per currency unit: prices are booked in steps of 0.0001."""

TICKS_PER_CENT = PRICE_SCALE // 100


def to_price_ticks(price: float) -> int:
    """A price in currency per unit as a whole number of 0.0001 steps.

    Rounds to the nearest step, ties to even on the binary value of `price * 10_000`. This is
    the one definition of the price grid: `flows.trading.portfolio` does the same with `np.rint` on
    arrays, which rounds identically, so scalar and vectorised valuations agree to the cent.
    """
    return round(price * PRICE_SCALE)


def on_price_grid(price: float) -> float:
    """`price` rounded to the 0.0001 grid (currency per unit)."""
    return to_price_ticks(price) / PRICE_SCALE


def slippage_per_unit(price: float, costs: Costs) -> float:
    """Adverse price move per unit, in currency: `price * bps / 10_000 + ticks * tick_size`."""
    return price * costs.slippage_bps / 10_000 + costs.slippage_ticks * costs.tick_size


def market_fill_price(side: Side, bid: float, ask: float, costs: Costs) -> float:
    """Where a market order fills: buys at the ask plus slippage, sells at the bid minus it.

    The slippage is measured on the side of the book the order takes (the ask for buys, the
    bid for sells). A sell never fills below 0 (an option bid of 0 stays 0). The result is
    rounded to the nearest 0.0001, the accounting grid; that rounding moves the price by at most
    half a grid step either way, which is far below any real tick size.
    """
    if side == Side.BUY:
        raw = ask + slippage_per_unit(ask, costs)
    else:
        raw = max(0.0, bid - slippage_per_unit(bid, costs))
    return on_price_grid(raw)


def limit_fill_price(side: Side, limit_price: float, bid: float, ask: float) -> float | None:
    """Where a resting limit order fills against this quote, or None when it does not cross.

    A buy fills when ask <= limit, at the ask; a sell fills when bid >= limit, at the bid. The
    quote is the price improvement the order gets, so no slippage is added: a passive order
    that the market trades through fills at the touch. The price is put on the 0.0001 grid.
    """
    if side == Side.BUY:
        return on_price_grid(ask) if ask <= limit_price else None
    return on_price_grid(bid) if bid >= limit_price else None


def first_limit_cross(
    side: Side,
    limit_price: float,
    bid: npt.NDArray[np.float64],
    ask: npt.NDArray[np.float64],
) -> int | None:
    """Index of the first quote in the arrays at which a resting limit order fills, or None.

    Same rule as `limit_fill_price`, over a batch of quotes at once. A NaN quote never fills
    (NaN compares false), so gaps in a synthesised chain cannot trigger a fill.
    """
    crossed = np.asarray(ask) <= limit_price if side == Side.BUY else np.asarray(bid) >= limit_price
    if crossed.size == 0 or not crossed.any():
        return None
    return int(np.argmax(crossed))


def commission(asset_class: AssetClass, quantity: int, costs: Costs) -> int:
    """Commission of one fill, in cents.

    Equities pay `max(min_commission, commission_per_share * shares)`, options
    `max(min_commission, commission_per_contract * contracts)`. The product is formed in
    decimal from the configured rates as written (0.005 is exactly half a cent, not the binary
    float just below it) and rounded half up to the cent: 333 shares at 0.005 cost 1.665,
    charged as 1.67. Rounding is monotonic, so the larger amount rounded is the larger of the
    two rounded.
    """
    rate = (
        costs.commission_per_share
        if asset_class == AssetClass.EQUITY
        else costs.commission_per_contract
    )
    return max(_cents_half_up(costs.min_commission, 1), _cents_half_up(rate, quantity))


def _cents_half_up(amount: float, times: int) -> int:
    """`amount` (currency, taken in decimal as written) x `times`, in cents rounded half up,
    in exact integers: a fill's commission without `Decimal` arithmetic per fill."""
    numerator, denominator = _as_written(amount)
    return (200 * numerator * times + denominator) // (2 * denominator)


@cache
def _as_written(amount: float) -> tuple[int, int]:
    """The decimal `amount` as written (its shortest repr), as an exact fraction."""
    return Decimal(repr(amount)).as_integer_ratio()


def slippage_cost_cents(
    side: Side, bid: float, ask: float, fill_price: float, quantity: int, multiplier: int
) -> int:
    """What slippage cost a fill, in cents: the distance from the touch times the units.

    The touch is the ask for buys and the bid for sells, both on the 0.0001 grid, so the figure
    is exact and, for a market fill, never negative. Rounded half up to the cent. This is the
    `slippage` of `schemas.trading.Fill`.
    """
    touch = to_price_ticks(ask) if side == Side.BUY else to_price_ticks(bid)
    fill = to_price_ticks(fill_price)
    per_unit_ticks = fill - touch if side == Side.BUY else touch - fill
    scaled = per_unit_ticks * quantity * multiplier
    magnitude = (abs(scaled) + TICKS_PER_CENT // 2) // TICKS_PER_CENT
    return magnitude if scaled >= 0 else -magnitude


def intrinsic_value(is_call: bool, strike: float, underlying_price: float) -> float:
    """An option's exercise value per unit, before the multiplier (currency per unit).

    max(S - K, 0) for a call, max(K - S, 0) for a put.
    """
    if is_call:
        return max(underlying_price - strike, 0.0)
    return max(strike - underlying_price, 0.0)
