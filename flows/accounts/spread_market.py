"""Working an account's resting spreads at the market: finding the first tick at which one
fills or ends (numpy over the stretch of ticks, then the pure rule at the few candidate ticks),
and working it there (flows.trading.spread_orders has the rules; flows.accounts.spread_orders
the records and the booking)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.legs import Leg
from flows.accounts.spread_orders import (
    book_spread,
    cancel_groups,
    end_spread,
    quotes_now,
    still_held,
)
from flows.accounts.ticks import Ticks
from flows.trading.orders import RestingOrder
from flows.trading.spread_orders import RestingSpread, SpreadOutcome, could_act, work_spread
from flows.trading.spreads import LegQuote
from flows.trading.ticks import NO_SIZE
from schemas.common import OrderStatus

# --- working at the market ---------------------------------------------------------------------


def _key(order: RestingSpread) -> str:
    return f"spread:{order.spread_id}"


def next_spread_event(ctx: AccountContext, ticks: Ticks, cursor: int) -> int:
    """The first tick at or after `cursor` where a working spread acts (len(ticks) if none)."""
    best = n = len(ticks)
    hits = ctx.order_hits
    for order in ctx.state.spread_orders:
        hit = hits.get(_key(order))
        if hit is None or hit < cursor:
            found = _first_act(ctx, ticks, order, cursor)
            hit = hits[_key(order)] = n if found is None else cursor + found
        best = min(best, hit)
    return best


class Along(NamedTuple):
    """A leg's quote carried along a stretch of ticks: `mine` marks its own rows; sizes are
    NO_SIZE where the quote carried none."""

    mine: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    ts: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray

    def quote(self, i: int) -> LegQuote:
        bid_size, ask_size = int(self.bid_size[i]), int(self.ask_size[i])
        if bid_size == NO_SIZE:
            return LegQuote(float(self.bid[i]), float(self.ask[i]), int(self.ts[i]))
        return LegQuote(float(self.bid[i]), float(self.ask[i]), int(self.ts[i]), bid_size, ask_size)


def _along(ctx: AccountContext, ticks: Ticks, instrument: str, cursor: int) -> Along:
    """The instrument's quote carried along ticks [cursor, n), from its quote before them (NaN
    and -1 without one)."""
    codes = ticks.codes[cursor:]
    code = next((c for c, s in ticks.symbol_of_code.items() if s == instrument), None)
    mine = codes == code if code is not None else np.zeros(len(codes), dtype=bool)
    known = ctx.state.quotes.get(instrument)
    before = (known.bid, known.ask, known.ts) if known is not None else (np.nan, np.nan, -1)
    latest = np.maximum.accumulate(np.where(mine, np.arange(len(codes)), -1))
    at = cursor + np.maximum(latest, 0)
    seen = latest >= 0

    def sizes(column: np.ndarray | None, known_size: int | None) -> np.ndarray:
        earlier = NO_SIZE if known_size is None else known_size
        return np.where(seen, NO_SIZE if column is None else column[at], earlier)

    return Along(
        mine,
        np.where(seen, ticks.bid[at], before[0]),
        np.where(seen, ticks.ask[at], before[1]),
        np.where(seen, ticks.ts[at], before[2]),
        sizes(ticks.bid_size, known.bid_size if known is not None else None),
        sizes(ticks.ask_size, known.ask_size if known is not None else None),
    )


def _moments(ts: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The last row of each event time at which one of the legs quoted: a spread acts on the
    legs' quotes of a moment once all of that moment's quotes are in (a chain's snapshot is one
    moment). A segment holds every row of its times, so the last row of a time is in it."""
    last = np.flatnonzero(np.r_[ts[1:] != ts[:-1], True]) if len(ts) else np.empty(0, int)
    counts = np.cumsum(own)[last]
    quoted = counts > np.r_[0, counts[:-1]]
    moments = np.zeros(len(ts), dtype=bool)
    moments[last[quoted]] = True
    return moments


def _first_act(ctx: AccountContext, ticks: Ticks, order: RestingSpread, cursor: int) -> int | None:
    """Index (from `cursor`) of the first tick at which `order` fills or ends, or None: the end
    of a moment at which one of its legs quoted, once every leg has quoted since the order
    arrived, before it expires."""
    ts = ticks.ts[cursor:]
    legs = [_along(ctx, ticks, leg.instrument, cursor) for leg in order.spread.legs]
    ready = np.logical_and.reduce([leg.ts >= order.active_ts for leg in legs])
    live = _moments(ts, np.logical_or.reduce([leg.mine for leg in legs])) & ready
    if order.expires_ts is not None:
        live &= ts < order.expires_ts
    bids, asks = np.array([leg.bid for leg in legs]), np.array([leg.ask for leg in legs])
    candidates = np.flatnonzero(live & could_act(order, bids, asks))
    costs = ctx.state.config.costs
    for i in candidates.tolist():
        quotes = [leg.quote(i) for leg in legs]
        if work_spread(order, quotes, int(ts[i]), costs).status is not None:
            return int(i)
    return None


def work_spreads(ctx: AccountContext, ticks: Ticks, p: int) -> None:
    """Work every spread that acts at tick `p` (the state's quotes include it), oldest first."""
    state = ctx.state
    hits = ctx.order_hits
    for order in [o for o in state.spread_orders if hits.get(_key(o)) == p]:
        if order not in state.spread_orders:
            continue  # an OCO sibling filled before it at this tick
        del hits[_key(order)]
        ts = int(ticks.ts[p])
        if order.purpose != "entry" and not still_held(ctx, order.spread, order.units, True):
            state.spread_orders.remove(order)
            end_spread(ctx, order, OrderStatus.CANCELLED, ts, "no position left to close")
            continue
        legs = [_resting_leg(ctx, leg_order) for leg_order in order.orders]
        outcome = work_spread(order, quotes_now(ctx, legs, ts), ts, state.config.costs)
        _record(ctx, order, legs, outcome, ts)


def _resting_leg(ctx: AccountContext, leg_order: RestingOrder) -> Leg:
    quote = ctx.state.quotes[leg_order.instrument]
    return Leg.resting_fill(leg_order, leg_order.quantity, quote.bid, quote.ask)


def _record(
    ctx: AccountContext, order: RestingSpread, legs: list[Leg], outcome: SpreadOutcome, ts: int
) -> None:
    if outcome.status is None:
        return
    ctx.state.spread_orders.remove(order)
    if outcome.fill is None:
        end_spread(ctx, order, outcome.status, ts, outcome.reason)
        return
    if order.oco_group:  # before the booking, which would cancel them as closed
        reason = f"one-cancels-other: {order.spread_id} filled"
        cancel_groups(ctx, {order.oco_group}, ts, reason)
    book_spread(ctx, order, legs, outcome.fill)
