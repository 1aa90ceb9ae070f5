"""Working one resting order at one quote, and driving it over a stretch of quotes."""

from __future__ import annotations

from dataclasses import replace

from flows.trading.orders.model import Outcome, RestingOrder
from flows.trading.orders.rules import Floats, Ints, first_event, follow, stop_level, usable_quote
from flows.trading.paper_broker import limit_fill_price, market_fill_price
from flows.trading.ticks import NO_SIZE
from schemas.common import OrderStatus, OrderType, Side, TimeInForce
from schemas.config import Costs


def step(order: RestingOrder, bid: float, ask: float, size: int | None, costs: Costs) -> Outcome:
    """Work `order` at a quote it has reached (a trailing stop's `reference` already includes
    the quote: see `follow`), updating the order; says what happened.

    A triggered stop fills as a market order at this quote plus slippage, so a gap through the
    stop fills at the first price past it; a triggered stop-limit rests as a limit. A limit
    fills at the touch; a market order at the quote plus slippage. With a size (the quoted size
    on the order's side; None or NO_SIZE for a tick without sizes), at most that many units
    fill; the rest keeps working, except IOC (cancelled) and FOK (all or nothing). A crossed
    quote, or a locked one with sizes, fills nothing: IOC and FOK are rejected, others wait.
    """
    if size == NO_SIZE:
        size = None
    problem = usable_quote(bid, ask, 0, 0, None, sized=size is not None)
    if problem:
        return _finish(order, OrderStatus.REJECTED, problem) if order.on_arrival_only else Outcome()
    if order.waits_for_trigger:
        touch = bid if order.side == Side.SELL else ask
        level = stop_level(order, touch if order.reference is None else order.reference)
        if not (ask >= level if order.side == Side.BUY else bid <= level):
            return _not_filled(order, f"stop {level:,.4f} not reached on arrival")
        order.triggered = True
    price = _fill_price(order, bid, ask, costs)
    available = order.remaining if size is None else min(order.remaining, size)
    if price is None or available == 0:
        return _not_filled(order, "nothing to fill against on arrival")
    if order.time_in_force == TimeInForce.FOK and available < order.remaining:
        return _finish(
            order,
            OrderStatus.CANCELLED,
            f"fok: only {available} of {order.remaining} available",
        )
    order.filled += available
    order.filled_value += price * available
    if order.remaining == 0:
        order.status = OrderStatus.FILLED
        return Outcome(available, price, OrderStatus.FILLED)
    if order.time_in_force == TimeInForce.IOC:
        order.status = OrderStatus.CANCELLED
        reason = f"ioc: the unfilled {order.remaining} cancelled"
        return Outcome(available, price, OrderStatus.CANCELLED, reason)
    order.status = OrderStatus.PARTIALLY_FILLED
    return Outcome(available, price, OrderStatus.PARTIALLY_FILLED)


def _fill_price(order: RestingOrder, bid: float, ask: float, costs: Costs) -> float | None:
    if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        assert order.limit_price is not None
        return limit_fill_price(order.side, order.limit_price, bid, ask)
    return market_fill_price(order.side, bid, ask, costs)


def _not_filled(order: RestingOrder, why: str) -> Outcome:
    if order.on_arrival_only:
        return _finish(order, OrderStatus.CANCELLED, f"{order.time_in_force.value}: {why}")
    return Outcome()


def _finish(order: RestingOrder, status: OrderStatus, reason: str) -> Outcome:
    order.status = status
    return Outcome(status=status, reason=reason)


def drive(
    order: RestingOrder,
    ts: Ints,
    bid: Floats,
    ask: Floats,
    costs: Costs,
    size: Ints | None = None,
) -> list[tuple[int, Outcome]]:
    """Run `order` over one instrument's quotes until it is done or they run out: each event's
    quote index and outcome, an expiry as (index of the first quote at or after it, EXPIRED).

    The account stage does the same a stretch at a time; this is its reference, and what the
    tests drive.
    """
    events: list[tuple[int, Outcome]] = []
    cursor = 0
    while cursor < len(ts) and not order.final:
        hit = first_event(
            order, ts[cursor:], bid[cursor:], ask[cursor:], None if size is None else size[cursor:]
        )
        if hit is None:
            break
        p = cursor + hit
        seen = slice(cursor, p + 1)
        follow(order, ts[seen], bid[seen], ask[seen], None if size is None else size[seen])
        outcome = step(
            order, float(bid[p]), float(ask[p]), None if size is None else int(size[p]), costs
        )
        if outcome.quantity or outcome.status is not None:
            events.append((p, outcome))
        cursor = p + 1
    if not order.final and order.expires_ts is not None and len(ts) and ts[-1] >= order.expires_ts:
        order.status = OrderStatus.EXPIRED
        at = int((ts >= order.expires_ts).argmax())
        events.append((at, replace(Outcome(), status=OrderStatus.EXPIRED, reason="expired")))
    return events
