"""An account's working orders: placing them, finding the next tick where one acts, working it
there, and ending them (filled, cancelled, expired, rejected), with a `paper_orders` row for
every change of status.

The rules are the order engine's (flows.trading.orders); this module knows the account: which
instrument's ticks an order watches, what a fill does to the book, that an entry's fill places
its bracket (flows.accounts.exits) and that a bracket's fill cancels the rest of its OCO group.
Where an order next acts is computed once per step and order (`ctx.order_hits`) and again only
when the order changed: quotes it has passed cannot change where it acts next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.exits import bracket
from flows.accounts.fills import book_fill
from flows.accounts.legs import Leg
from flows.accounts.state import Quote, TimeStop
from flows.accounts.ticks import Ticks
from flows.trading.ids import make_id
from flows.trading.orders import (
    Outcome,
    RestingOrder,
    first_event,
    follow,
    side_sizes,
    step,
    usable_quote,
)
from flows.trading.paper_broker import commission
from flows.trading.ticks import Int64s
from schemas.common import (
    AssetClass,
    ExitReason,
    OrderStatus,
    OrderType,
    Severity,
    Side,
    TimeInForce,
)

# --- placing -----------------------------------------------------------------------------------


def has_own_quotes(ctx: AccountContext, instrument: str, asset_class: AssetClass) -> bool:
    """Whether the instrument's own ticks reach the account (shares; options with option
    quotes fed, once quoted): only those can trigger or fill a resting order."""
    return asset_class == AssetClass.EQUITY or (
        ctx.params.option_quotes and instrument in ctx.state.quotes
    )


def order_for(
    ctx: AccountContext,
    leg: Leg,
    order_id: str,
    ts: int,
    kind: OrderType,
    *,
    decision_id: str = "",
    limit_price: float | None = None,
) -> RestingOrder:
    """The resting order for an approved leg: an entry, or a signal's exit when it waits for
    the latency. Its time in force is the config's; a day order also ends with the day."""
    costs = ctx.state.config.costs
    tif = costs.time_in_force
    expires: int | None = None
    if tif in (TimeInForce.DAY, TimeInForce.GTC) and kind == OrderType.LIMIT:
        expires = ts + costs.limit_ttl_seconds * 1000
    day_end = ctx.state.day_end_ms
    if tif == TimeInForce.DAY and day_end is not None:
        expires = day_end if expires is None else min(expires, day_end)
    return RestingOrder(
        order_id=order_id,
        instrument=leg.instrument,
        underlying=leg.underlying,
        asset_class=leg.asset_class,
        multiplier=leg.multiplier,
        side=leg.side,
        quantity=leg.quantity,
        order_type=kind,
        time_in_force=tif,
        purpose="entry" if leg.opens else "signal",
        placed_ts=ts,
        active_ts=ts + costs.latency_ms,
        expires_ts=expires,
        limit_price=limit_price,
        decision_id=decision_id,
        expiry_ts=leg.expiry_ts,
        strike=leg.strike,
        is_call=leg.is_call,
    )


def place(ctx: AccountContext, order: RestingOrder, ts: int) -> None:
    ctx.state.pending.append(order)
    ctx.emit_order_event(order, ts)


def fill_now(
    ctx: AccountContext,
    leg: Leg,
    order: RestingOrder,
    ts: int,
    fill_id: str,
    reason: str,
    command_id: str = "",
) -> bool:
    """A market order filled at once against the leg's quote (rows `new`, then `filled`, or
    `rejected` when the quote is crossed, stale, or locked with sizes, each naming the control
    command that placed it, if one did); True if any of it filled.

    With quoted sizes, at most the size on the order's side fills now (a `partially_filled`
    row); the rest keeps working as a market order on the next quotes until its time in force
    ends (`day`: the day's end), as a broker's top-of-book fill would; IOC cancels the rest,
    FOK cancels the whole order when the size falls short. The kill switch takes no notice of
    sizes: it flattens at the last quote in one fill (a rest left working would be cancelled
    by the halt it brings, leaving the position half open).
    """
    costs = ctx.state.config.costs
    ctx.emit_order_event(order, ts, command_id=command_id)
    quote = ctx.state.quotes.get(leg.instrument)
    sized = quote is not None and quote.bid_size is not None
    problem = usable_quote(
        leg.bid, leg.ask, quote.ts if quote is not None else ts, ts, costs.max_quote_age_ms, sized
    )
    if problem:
        order.status = OrderStatus.REJECTED
        ctx.emit_order_event(order, ts, problem, command_id)
        return False
    size = _quoted_size(quote, order) if order.purpose != "kill_switch" else None
    outcome = step(order, leg.bid, leg.ask, size, costs)
    part = leg if outcome.quantity == leg.quantity else replace(leg, quantity=outcome.quantity)
    if outcome.quantity:
        book_fill(
            ctx,
            part,
            ts,
            outcome.price,
            commission(leg.asset_class, outcome.quantity, costs),
            fill_id=fill_id,
            order_id=order.order_id,
            reason=reason,
            exit_reason=_exit_reason(order),
        )
    _emit_outcome(ctx, order, outcome, ts, command_id)
    if outcome.quantity and leg.opens:
        refresh_bracket(ctx, part, order.order_id, outcome.price, ts)
    if not order.final:
        ctx.state.pending.append(order)  # the rest works on at the next quotes
    return outcome.quantity > 0


def _quoted_size(quote: Quote | None, order: RestingOrder) -> int | None:
    """The quoted size on the order's side of its instrument's latest quote (None: none)."""
    if quote is None:
        return None
    return quote.ask_size if order.side == Side.BUY else quote.bid_size


def refresh_bracket(ctx: AccountContext, leg: Leg, entry_id: str, price: float, ts: int) -> None:
    """An entry filled: the position's exits are those of its latest entry, for all of it."""
    if not ctx.state.config.exits.any:
        return
    cancel_exits(ctx, leg.instrument, ts, f"replaced by the bracket of {entry_id}")
    priced = has_own_quotes(ctx, leg.instrument, leg.asset_class)
    orders, time_stop = bracket(ctx, leg, entry_id, price, ts, (leg.bid, leg.ask), priced)
    for order in orders:
        place(ctx, order, ts)
    if time_stop is not None:
        ctx.state.time_stops.append(time_stop)


# By value: a lookup, where calling the enum costs a microsecond on every fill.
_EXIT_REASONS = {reason.value: reason for reason in ExitReason}


def _exit_reason(order: RestingOrder) -> ExitReason:
    if order.purpose == "entry":
        return ExitReason.NONE
    found = _EXIT_REASONS.get(order.purpose)
    return found if found is not None else ExitReason(order.purpose)  # raises for a bad one


# --- ending ------------------------------------------------------------------------------------


def cancel(
    ctx: AccountContext, order: RestingOrder, ts: int, reason: str, command_id: str = ""
) -> None:
    order.status = OrderStatus.CANCELLED
    ctx.emit_order_event(order, ts, reason, command_id)
    ctx.state.pending.remove(order)


def cancel_exits(ctx: AccountContext, instrument: str, ts: int, reason: str) -> None:
    """Cancel the resting exits and the time stop of a position (closed, or re-bracketed)."""
    _cancel_brackets(ctx, lambda exit_: exit_.instrument == instrument, ts, reason)


def cancel_group(ctx: AccountContext, group: str, ts: int, reason: str) -> None:
    """One of an OCO group is done: the others are cancelled, its time stop dropped."""
    _cancel_brackets(ctx, lambda exit_: exit_.oco_group == group, ts, reason)


def _cancel_brackets(
    ctx: AccountContext, chosen: Callable[[RestingOrder | TimeStop], bool], ts: int, reason: str
) -> None:
    """Cancel the bracket orders and drop the time stops that `chosen` picks."""
    state = ctx.state
    for order in [o for o in state.pending if o.oco_group and chosen(o)]:
        cancel(ctx, order, ts, reason)
    state.time_stops = [t for t in state.time_stops if not chosen(t)]


def cancel_by_id(ctx: AccountContext, order_id: str, ts: int, reason: str, command_id: str) -> bool:
    """Cancel the named working order for the control command `command_id`; False if no
    working order has that id."""
    order = next((o for o in ctx.state.pending if o.order_id == order_id), None)
    if order is None:
        return False
    cancel(ctx, order, ts, reason, command_id)
    return True


def expire_orders(ctx: AccountContext, at: int) -> None:
    """End the working orders whose time is up at `at`, with a row and an alert each."""
    for order in [o for o in ctx.state.pending if o.expires_ts is not None and o.expires_ts <= at]:
        order.status = OrderStatus.EXPIRED
        ctx.emit_order_event(order, at, f"time in force {order.time_in_force.value} ran out")
        ctx.state.pending.remove(order)
        price = f" at {order.limit_price}" if order.limit_price is not None else ""
        ctx.alert(
            ts=at,
            kind="order_expired",
            severity=Severity.INFO,
            message=f"{order.order_type.value} order {order.order_id} ({order.side.value} "
            f"{order.quantity} {order.instrument}{price}) expired unfilled",
            key=order.order_id,
        )


# --- working at the market ---------------------------------------------------------------------


def _code_of(ctx: AccountContext, ticks: Ticks) -> dict[str, int]:
    if ctx.code_of is None:
        ctx.code_of = {symbol: code for code, symbol in ticks.symbol_of_code.items()}
    return ctx.code_of


def _rows(ctx: AccountContext, ticks: Ticks, instrument: str, start: int, stop: int) -> np.ndarray:
    """The rows of `instrument` among ticks [start, stop): each code's rows are found once per
    step, then cut by bisection."""
    code = _code_of(ctx, ticks).get(instrument)
    if code is None:
        return np.empty(0, dtype=np.intp)
    rows = ctx.rows_of.get(code)
    if rows is None:
        rows = ctx.rows_of[code] = np.flatnonzero(ticks.codes == code)
    first, last = np.searchsorted(rows, (start, stop))
    return rows[first:last]


def next_order_event(ctx: AccountContext, ticks: Ticks, cursor: int) -> int:
    """The first tick at or after `cursor` where a working order acts (len(ticks) if none)."""
    n = len(ticks)
    best = n
    hits = ctx.order_hits
    for order in ctx.state.pending:
        hit = hits.get(order.order_id)
        if hit is None or hit < cursor:
            rows = _rows(ctx, ticks, order.instrument, cursor, n)
            sizes = _sizes(ticks, order, rows)
            found = first_event(order, ticks.ts[rows], ticks.bid[rows], ticks.ask[rows], sizes)
            hit = n if found is None else int(rows[found])
            hits[order.order_id] = hit
        best = min(best, hit)
    return best


def _sizes(ticks: Ticks, order: RestingOrder, rows: np.ndarray) -> Int64s | None:
    """The quoted sizes on the order's side at `rows` (None: the ticks carry no sizes)."""
    column = side_sizes(order.side, ticks.bid_size, ticks.ask_size)
    return None if column is None else column[rows]


def follow_trails(ctx: AccountContext, ticks: Ticks, start: int, stop: int) -> None:
    """Trailing stops follow the quotes of ticks [start, stop)."""
    for order in ctx.state.pending:
        if order.order_type == OrderType.TRAILING_STOP and not order.triggered:
            rows = _rows(ctx, ticks, order.instrument, start, stop)
            sizes = _sizes(ticks, order, rows)
            follow(order, ticks.ts[rows], ticks.bid[rows], ticks.ask[rows], sizes)


def work_orders(ctx: AccountContext, ticks: Ticks, p: int) -> None:
    """Work every order that acts at tick `p` (its quotes up to `p` followed), oldest first."""
    hits = ctx.order_hits
    for order in [o for o in ctx.state.pending if hits.get(o.order_id) == p]:
        if order not in ctx.state.pending:
            continue  # an OCO sibling filled before it at this tick
        del hits[order.order_id]
        ts = int(ticks.ts[p])
        if order.purpose != "entry" and not _position_left(ctx, order):
            cancel(ctx, order, ts, "no position left to close")
            continue
        bid, ask = float(ticks.bid[p]), float(ticks.ask[p])
        sizes = side_sizes(order.side, ticks.bid_size, ticks.ask_size)
        size = None if sizes is None else int(sizes[p])
        outcome = step(order, bid, ask, size, ctx.state.config.costs)
        _record(ctx, order, outcome, ts, bid, ask)


def _position_left(ctx: AccountContext, order: RestingOrder) -> bool:
    holding = ctx.state.book.holdings.get(order.instrument)
    if holding is None:
        return False
    return (holding.quantity > 0) == (order.side == Side.SELL)


def _record(
    ctx: AccountContext, order: RestingOrder, outcome: Outcome, ts: int, bid: float, ask: float
) -> None:
    """Book an outcome's fill and emit the order's rows; a final order leaves the book."""
    if outcome.quantity:
        _book(ctx, order, outcome, ts, bid, ask)
    _emit_outcome(ctx, order, outcome, ts)
    if not order.final:
        return
    ctx.state.pending.remove(order)
    if order.status == OrderStatus.FILLED and order.oco_group:
        cancel_group(ctx, order.oco_group, ts, f"one-cancels-other: {order.order_id} filled")


def _emit_outcome(
    ctx: AccountContext, order: RestingOrder, outcome: Outcome, ts: int, command_id: str = ""
) -> None:
    """The order's rows for an outcome: `partially_filled` for a fill that left a rest (even
    one IOC then cancels), then the status it ended in, with the reason."""
    if outcome.quantity and order.status != OrderStatus.FILLED:
        final = order.status
        order.status = OrderStatus.PARTIALLY_FILLED
        ctx.emit_order_event(order, ts, command_id=command_id)
        order.status = final
    if outcome.status not in (None, OrderStatus.PARTIALLY_FILLED):
        ctx.emit_order_event(order, ts, outcome.reason, command_id)


def _book(
    ctx: AccountContext, order: RestingOrder, outcome: Outcome, ts: int, bid: float, ask: float
) -> None:
    fills_before = order.sequence  # rows so far tell fills apart without another counter
    leg = Leg.resting_fill(order, outcome.quantity, bid, ask)
    first = order.filled == outcome.quantity
    book_fill(
        ctx,
        leg,
        ts,
        outcome.price,
        commission(order.asset_class, outcome.quantity, ctx.state.config.costs),
        fill_id=make_id(order.order_id, "fill")
        if first
        else make_id(order.order_id, "fill", fills_before),
        order_id=order.order_id,
        reason=_fill_reason(order),
        exit_reason=_exit_reason(order),
    )
    if leg.opens:
        refresh_bracket(ctx, leg, order.order_id, outcome.price, ts)


def _fill_reason(order: RestingOrder) -> str:
    if order.purpose == "entry":
        return "limit" if order.order_type == OrderType.LIMIT else "signal"
    return order.purpose
