"""When a resting order acts, in numpy over a stretch of one instrument's quotes.

Every rule here has a scalar twin in `step` that computes the same thing with the same float
operations in the same order, so the quote found here is the quote `step` acts on.

- Only a usable quote acts: never a crossed one (bid > ask), nor a locked one (bid = ask) that
  quotes sizes: a tick with sizes is a real quote, and a market locked at one price has no
  side to trade against. A tick without sizes is a price (a bar, a trade print, replayed as
  bid = ask) and is usable at that price: bars fill at their close. Decoding already refuses
  crossed ticks. A quote older than the account's `max_quote_age_ms` is checked where an order
  fills against the latest known quote (`usable_quote`); here every quote is the
  instrument's own tick, as fresh as it gets. An unusable quote is skipped entirely: it does
  not trigger a stop or move a trailing stop's reference either.
- Sizes: `size` is the quoted size on the side an order takes (the ask's for a buy, the bid's
  for a sell), NO_SIZE on a tick that quoted none; a quoted size of 0 fills nothing.
- An order acts only from `active_ts` (its decision plus the latency) and before `expires_ts`.
- A buy stop triggers when ask >= stop, a sell stop when bid <= stop. A trailing stop's stop
  follows its `reference`, the best quote since it arrived (highest bid for a sell, lowest ask
  for a buy: a running maximum or minimum), by an amount or a fraction of it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from flows.trading.orders.model import RestingOrder
from flows.trading.ticks import NO_SIZE
from schemas.common import OrderType, Side

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def usable_quote(
    bid: float,
    ask: float,
    quote_ts: int,
    now: int,
    max_age_ms: int | None,
    sized: bool = False,
) -> str:
    """Why an order cannot fill against this quote at `now` ('' when it can); `sized` says the
    quote came with sizes (a real quote, not a bar's or a trade's price)."""
    if not bid <= ask:
        return f"crossed quote (bid {bid:,.4f} > ask {ask:,.4f})"
    if sized and bid == ask:
        return f"locked quote (bid = ask = {bid:,.4f}, with sizes)"
    if max_age_ms is not None and now - quote_ts > max_age_ms:
        return f"stale quote ({now - quote_ts:,} ms old, limit {max_age_ms:,} ms)"
    return ""


def stop_level(order: RestingOrder, reference: float) -> float:
    """The stop price: fixed, or a trailing stop's distance from `reference`."""
    if order.order_type != OrderType.TRAILING_STOP:
        assert order.stop_price is not None
        return order.stop_price
    if order.trail_amount is not None:
        trail = order.trail_amount
    else:
        assert order.trail_percent is not None
        trail = reference * order.trail_percent
    return reference - trail if order.side == Side.SELL else reference + trail


def usable_quotes(bid: Floats, ask: Floats, size: Ints | None) -> Bools:
    """`usable_quote` over columns, age aside: neither crossed nor locked with sizes."""
    usable: Bools = bid <= ask
    if size is not None:
        usable &= (bid != ask) | (size == NO_SIZE)
    return usable


def side_sizes(side: Side, bid_size: Ints | None, ask_size: Ints | None) -> Ints | None:
    """The sizes an order on `side` takes from: the ask's for a buy, the bid's for a sell."""
    return ask_size if side == Side.BUY else bid_size


def _live(order: RestingOrder, ts: Ints) -> Bools:
    live = ts >= order.active_ts
    if order.expires_ts is not None:
        live &= ts < order.expires_ts
    return live


def _references(order: RestingOrder, valid: Bools, bid: Floats, ask: Floats) -> Floats:
    """A trailing stop's reference after each quote (NaN before its first usable one)."""
    if order.side == Side.SELL:
        ref = np.maximum.accumulate(np.where(valid, bid, -np.inf))
        if order.reference is not None:
            ref = np.maximum(ref, order.reference)
    else:
        ref = np.minimum.accumulate(np.where(valid, ask, np.inf))
        if order.reference is not None:
            ref = np.minimum(ref, order.reference)
    return np.where(np.isfinite(ref), ref, np.nan)


def _stop_levels(order: RestingOrder, valid: Bools, bid: Floats, ask: Floats) -> Floats:
    """`stop_level` after each quote, vectorised."""
    if order.order_type != OrderType.TRAILING_STOP:
        assert order.stop_price is not None
        return np.full(len(bid), order.stop_price)
    ref = _references(order, valid, bid, ask)
    if order.trail_amount is not None:
        trail: Floats | float = order.trail_amount
    else:
        assert order.trail_percent is not None
        trail = ref * order.trail_percent
    return ref - trail if order.side == Side.SELL else ref + trail


def _fillable(order: RestingOrder, valid: Bools, bid: Floats, ask: Floats) -> Bools:
    """Quotes at which a triggered (or never stop-like) order can fill, sizes aside."""
    if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        assert order.limit_price is not None
        crosses = ask <= order.limit_price if order.side == Side.BUY else bid >= order.limit_price
        return valid & crosses
    return valid


def first_event(
    order: RestingOrder,
    ts: Ints,
    bid: Floats,
    ask: Floats,
    size: Ints | None = None,
) -> int | None:
    """Index of the first quote at which `order` does something, or None.

    Something is: reaching the market for IOC and FOK (they act on that quote, whatever it
    is), a stop triggering, or a fill (against a quoted size above 0, or a tick without sizes).
    `size` is the side's quoted sizes (`side_sizes`), NO_SIZE where a tick quoted none.
    """
    live = _live(order, ts)
    if order.on_arrival_only:
        hits = live
    else:
        valid = live & usable_quotes(bid, ask, size)
        if order.waits_for_trigger:
            with np.errstate(invalid="ignore"):
                level = _stop_levels(order, valid, bid, ask)
                hits = valid & (ask >= level if order.side == Side.BUY else bid <= level)
        else:
            hits = _fillable(order, valid, bid, ask)
            if size is not None:
                hits &= size != 0
    if not hits.any():
        return None
    return int(np.argmax(hits))


def follow(
    order: RestingOrder, ts: Ints, bid: Floats, ask: Floats, size: Ints | None = None
) -> None:
    """Move a trailing stop's reference over quotes it has seen (without an event)."""
    if order.order_type != OrderType.TRAILING_STOP or order.triggered or len(ts) == 0:
        return
    valid = _live(order, ts) & usable_quotes(bid, ask, size)
    if not valid.any():
        return
    if order.side == Side.SELL:
        best = float(bid[valid].max())
        order.reference = best if order.reference is None else max(order.reference, best)
    else:
        best = float(ask[valid].min())
        order.reference = best if order.reference is None else min(order.reference, best)
