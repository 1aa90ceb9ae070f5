"""Resting spreads: a multi-leg order that works at the market until it fills as one, all legs
or none, and the exits of an open spread.

Net prices follow flows.trading.spreads: per spread unit, per share, positive a debit (paid),
negative a credit (received). A closing order is the opened spread `reversed()`, so the cost to
close a credit spread is a positive net price, and what a debit spread fetches a negative one.

A resting spread reaches the market at `active_ts` (its decision plus the latency) and acts only
on quotes of the market after that: at a moment (an event time at which one of its legs quoted,
once every quote of that time is in) when every leg has quoted at or after its arrival, against
each leg's latest quote (the legs' quotes of that moment). Then:

- market: it fills as one (each leg at its touch plus slippage), or is rejected as one when a
  leg's quote is crossed, locked with sizes, older than `costs.max_quote_age_ms`, or quotes
  less than the leg's quantity on its side (a spread fills whole or not at all);
- limit: it fills as one, passively (each leg at its touch), at the first such moment at which
  the net price meets `limit`; IOC and FOK act on the first moment only (all legs at once, so
  the two are the same here), DAY and GTC keep working until `expires_ts`;
- stop (a spread's stop-loss): it triggers when the cost to close at the touch (the combined
  ask) reaches `stop`, and fills at that moment as a market spread; a leg's unusable quote or
  short quoted size makes it wait, as a single-leg stop waits on a crossed quote.

A limit or stop spread that meets a leg's short size keeps working (IOC and FOK are cancelled
with the reason); `cover=False` (the kill switch) takes no notice of sizes.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.trading.orders import RestingOrder
from flows.trading.paper_broker import on_price_grid
from flows.trading.spreads import LegQuote, Spread, SpreadFill, combined_quote, fill_spread
from schemas.common import OrderStatus, OrderType, Side, TimeInForce
from schemas.config import Costs

_TOLERANCE = 1e-9  # net prices closer than this meet (fill_spread's own tolerance)


@dataclass(slots=True)
class RestingSpread:
    """A spread order working at the market. `orders` are its legs' `paper_orders` records, in
    leg order; `limit` and `stop` are net prices (see the module docstring)."""

    spread_id: str
    spread: Spread
    units: int
    order_type: OrderType
    time_in_force: TimeInForce
    purpose: str  # entry, signal (a signal's close), stop_loss or take_profit
    active_ts: int
    expires_ts: int | None
    orders: list[RestingOrder]
    limit: float | None = None
    stop: float | None = None
    oco_group: str = ""

    @property
    def on_arrival_only(self) -> bool:
        return self.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)


@dataclass(slots=True)
class OpenSpread:
    """A spread the account opened and still holds: `units` of `spread` at `entry_net`, with
    its time stop (event time, UTC ms; None without one)."""

    spread_id: str
    spread: Spread
    units: int
    entry_net: float
    time_stop_at: int | None = None


@dataclass(frozen=True, slots=True)
class SpreadOutcome:
    """Working a resting spread at one moment: its fill, the status it ends in (None while it
    keeps working) and why."""

    fill: SpreadFill | None = None
    status: OrderStatus | None = None
    reason: str = ""


def work_spread(
    order: RestingSpread, quotes: Sequence[LegQuote], ts: int, costs: Costs, cover: bool = True
) -> SpreadOutcome:
    """Work `order` at event time `ts` against its legs' quotes of that moment."""
    if order.order_type == OrderType.MARKET:
        filled = fill_spread(order.spread, quotes, order.units, ts, costs, cover=cover)
        if isinstance(filled, SpreadFill):
            return SpreadOutcome(filled, OrderStatus.FILLED)
        return SpreadOutcome(None, OrderStatus.REJECTED, f"spread not filled, no leg is: {filled}")
    if order.order_type == OrderType.STOP:
        assert order.stop is not None
        if combined_quote(order.spread, quotes).ask < order.stop - _TOLERANCE:
            return SpreadOutcome()
        filled = fill_spread(order.spread, quotes, order.units, ts, costs, cover=cover)
        if isinstance(filled, SpreadFill):
            return SpreadOutcome(filled, OrderStatus.FILLED)
        return SpreadOutcome()
    filled = fill_spread(
        order.spread, quotes, order.units, ts, costs, order.limit, passive=True, cover=cover
    )
    if isinstance(filled, SpreadFill):
        return SpreadOutcome(filled, OrderStatus.FILLED)
    if order.on_arrival_only:
        return SpreadOutcome(None, OrderStatus.CANCELLED, f"{order.time_in_force.value}: {filled}")
    return SpreadOutcome()


def could_act(
    order: RestingSpread, bids: npt.NDArray[np.float64], asks: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Where `order` may act, given its legs' quotes along a stretch (one row per leg): a
    necessary condition, loose by the slippage and the 0.0001 grid, so that `work_spread`,
    which decides, runs only where it might fill. A market order may act anywhere."""
    count = bids.shape[1]
    if order.order_type == OrderType.MARKET or order.on_arrival_only:
        return np.ones(count, dtype=bool)
    natural_ask = np.zeros(count)
    for n, leg in enumerate(order.spread.legs):
        touch = asks[n] if leg.side == Side.BUY else -bids[n]
        natural_ask = natural_ask + touch * leg.ratio
    slack = 1e-3 * sum(leg.ratio for leg in order.spread.legs)
    with np.errstate(invalid="ignore"):
        if order.order_type == OrderType.STOP:
            assert order.stop is not None
            return natural_ask >= order.stop - slack
        assert order.limit is not None
        return natural_ask <= order.limit + slack


def spread_limit_price(quotes: Sequence[LegQuote], spread: Spread, costs: Costs) -> float:
    """A limit spread's net price: `limit_offset_bps` of the net mid better than the mid (less
    paid for a debit, more received for a credit), on the tick grid."""
    quote = combined_quote(spread, quotes)
    mid = (quote.bid + quote.ask) / 2
    raw = mid - abs(mid) * costs.limit_offset_bps / 10_000
    return on_price_grid(round(raw / costs.tick_size) * costs.tick_size)


def exit_levels(
    entry_net: float, stop_loss_pct: float | None, take_profit_pct: float | None, tick: float
) -> tuple[float | None, float | None]:
    """(stop, take-profit) as net prices of the closing spread, on the tick grid, for a spread
    opened at `entry_net`: a fraction of the entry's premium lost or won.

    Closing at net `c` after opening at `e` makes -(e + c) per unit per share, so the stop-loss
    is at c = -e + pct x |e| (a credit spread's cost to close has risen by pct of the credit) and
    the take-profit at c = -e - pct x |e|. A credit spread cannot make more than its credit: a
    take-profit at or below a net of 0 is left out, as a short share's is below a price of 0.
    """
    base = abs(entry_net)
    stop = take = None
    if stop_loss_pct is not None:
        stop = _on_grid(-entry_net + stop_loss_pct * base, tick)
    if take_profit_pct is not None:
        take = _on_grid(-entry_net - take_profit_pct * base, tick)
        if entry_net <= 0 and take <= 0:
            take = None
    return stop, take


def _on_grid(price: float, tick: float) -> float:
    return on_price_grid(round(price / tick) * tick)
