"""An account's spread orders: resting ones (latency, limit, exits) worked against the legs'
own quotes, spreads closed as one at once (time stop, kill switch), and the spreads it holds.

The rules are flows.trading.spread_orders'; this module knows the account. A spread rests only
when every leg has quotes of its own (option quotes fed): on the synthetic chain a spread fills
when decided, as a single option does. Each leg has its `paper_orders` record (the same status
rows as a single order's; the legs of one spread order share its `decision_id`, and their fills
share a `spread_id`). A net limit or stop (per unit per share, debit positive) is on every leg's
row as its `limit_price` or `stop_price`: it is the spread's, not the leg's.

An opening spread that fills is recorded as held (`OpenSpread`), with its exits: a stop-loss
(a stop) and a take-profit (a limit) on the closing spread, one OCO group, and a time stop.
Price exits need every leg's own quotes; on the synthetic chain only the time stop applies. A
held spread is forgotten, its exits cancelled, once its legs are no longer all held (a signal
closed them, they expired, an exit or the kill switch filled).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from flows.accounts.chains import closing_leg
from flows.accounts.context import AccountContext
from flows.accounts.fills import book_fill
from flows.accounts.legs import OPTION_MULTIPLIER, Leg
from flows.accounts.resting import cancel_exits, has_own_quotes
from flows.trading.ids import make_id
from flows.trading.orders import RestingOrder
from flows.trading.spread_orders import (
    OpenSpread,
    RestingSpread,
    exit_levels,
    work_spread,
)
from flows.trading.spreads import LegQuote, Spread, SpreadFill
from schemas.common import (
    AssetClass,
    ExitReason,
    OrderStatus,
    OrderType,
    Severity,
    Side,
    TimeInForce,
)

# --- records -----------------------------------------------------------------------------------


def leg_orders(
    spread: Spread, units: int, ids: list[str], template: RestingOrder
) -> list[RestingOrder]:
    """One record per leg, `template`'s terms with each leg's instrument, side and quantity."""
    return [
        replace(
            template,
            order_id=order_id,
            instrument=leg.instrument,
            underlying=spread.underlying,
            side=leg.side,
            quantity=units * leg.ratio,
            expiry_ts=leg.expiry_ts,
            strike=leg.strike,
            is_call=leg.is_call,
        )
        for leg, order_id in zip(spread.legs, ids, strict=True)
    ]


def order_template(
    purpose: str, order_type: OrderType, side: Side, ts: int, active_ts: int, **terms: object
) -> RestingOrder:
    """A leg record's common terms (a placeholder instrument, replaced per leg)."""
    base = RestingOrder(
        order_id="",
        instrument="",
        underlying="",
        asset_class=AssetClass.OPTION,
        multiplier=OPTION_MULTIPLIER,
        side=side,
        quantity=1,
        order_type=order_type,
        time_in_force=TimeInForce.DAY,
        purpose=purpose,
        placed_ts=ts,
        active_ts=active_ts,
    )
    return replace(base, **terms)  # type: ignore[arg-type]


def describe(spread: Spread, units: int) -> str:
    legs = ", ".join(f"{leg.side.value} {leg.ratio} {leg.instrument}" for leg in spread.legs)
    return f"{units} x {spread.kind} spread: {legs}"


def rests(ctx: AccountContext, spread: Spread) -> bool:
    """Whether a spread can rest: every leg has quotes of its own to work against."""
    return all(has_own_quotes(ctx, leg.instrument, AssetClass.OPTION) for leg in spread.legs)


def place_spread(ctx: AccountContext, order: RestingSpread, ts: int) -> None:
    ctx.state.spread_orders.append(order)
    shown = describe(order.spread, order.units)
    for n, leg_order in enumerate(order.orders):
        ctx.emit_order_event(leg_order, ts, f"leg {n + 1} of {len(order.orders)} of {shown}")


# --- filling -----------------------------------------------------------------------------------


def exit_reason(purpose: str) -> ExitReason:
    return ExitReason.NONE if purpose == "entry" else ExitReason(purpose)


def book_spread(
    ctx: AccountContext,
    order: RestingSpread,
    legs: list[Leg],
    filled: SpreadFill,
    command_id: str = "",
) -> None:
    """Book every leg's fill, in leg order, under the spread's id; then what the fill means for
    the spreads held (an entry is held from now, a close ends what it closed). `command_id`
    names the control command that placed the order, if one did."""
    reason = "spread" if order.purpose in ("entry", "signal") else order.purpose
    for n, (leg, leg_order, part) in enumerate(zip(legs, order.orders, filled.legs, strict=True)):
        if not leg.opens and order.purpose == "signal":
            cancel_exits(ctx, leg.instrument, filled.ts, "the position is closed by a signal")
        book_fill(
            ctx,
            leg,
            filled.ts,
            part.price,
            part.commission_cents,
            fill_id=make_id(order.spread_id, "fill", n),
            order_id=leg_order.order_id,
            reason=reason,
            exit_reason=exit_reason(order.purpose),
            spread_id=order.spread_id,
        )
        leg_order.filled, leg_order.filled_value = leg.quantity, part.price * leg.quantity
        leg_order.status = OrderStatus.FILLED
        ctx.emit_order_event(leg_order, filled.ts, command_id=command_id)
    if order.purpose == "entry":
        _hold(ctx, order, filled)
    else:
        forget_closed(ctx, filled.ts, f"spread {order.spread_id} closed it ({order.purpose})")


def end_spread(
    ctx: AccountContext, order: RestingSpread, status: OrderStatus, ts: int, reason: str
) -> None:
    """Every leg's record ends with `status` (rejected, cancelled, expired) and why."""
    for leg_order in order.orders:
        leg_order.status = status
        ctx.emit_order_event(leg_order, ts, reason)


def quotes_now(ctx: AccountContext, legs: list[Leg], ts: int) -> list[LegQuote]:
    """Each leg's quote, timed and sized by its market quote when it has one (else it is the
    model's, priced at `ts`, without sizes)."""
    quotes = []
    for leg in legs:
        market = ctx.state.quotes.get(leg.instrument)
        if market is None:
            quotes.append(LegQuote(leg.bid, leg.ask, ts))
        else:
            quotes.append(LegQuote(leg.bid, leg.ask, market.ts, market.bid_size, market.ask_size))
    return quotes


# --- held spreads and their exits -------------------------------------------------------------


def _hold(ctx: AccountContext, order: RestingSpread, filled: SpreadFill) -> None:
    exits = ctx.state.config.exits
    time_stop = None
    if exits.time_stop_seconds is not None:
        time_stop = filled.ts + exits.time_stop_seconds * 1000
    held = OpenSpread(order.spread_id, order.spread, order.units, filled.net_price, time_stop)
    ctx.state.open_spreads.append(held)
    if rests(ctx, order.spread):
        _place_exits(ctx, held, filled.ts)


def _place_exits(ctx: AccountContext, held: OpenSpread, ts: int) -> None:
    config = ctx.state.config
    stop, take = exit_levels(
        held.entry_net,
        config.exits.stop_loss_pct,
        config.exits.take_profit_pct,
        config.costs.tick_size,
    )
    closing = held.spread.reversed()
    active = ts + config.costs.latency_ms
    group = make_id(held.spread_id, "oco")
    for purpose, kind, level in (
        ("take_profit", OrderType.LIMIT, take),
        ("stop_loss", OrderType.STOP, stop),
    ):
        if level is None:
            continue
        spread_id = make_id(held.spread_id, purpose)
        price = {"limit_price": level} if kind == OrderType.LIMIT else {"stop_price": level}
        template = order_template(
            purpose,
            kind,
            closing.legs[0].side,
            ts,
            active,
            time_in_force=TimeInForce.GTC,
            parent_id=held.spread_id,
            oco_group=group,
            **price,
        )
        ids = [make_id(spread_id, n) for n in range(len(closing.legs))]
        order = RestingSpread(
            spread_id=spread_id,
            spread=closing,
            units=held.units,
            order_type=kind,
            time_in_force=TimeInForce.GTC,
            purpose=purpose,
            active_ts=active,
            expires_ts=None,
            orders=leg_orders(closing, held.units, ids, template),
            limit=level if kind == OrderType.LIMIT else None,
            stop=level if kind == OrderType.STOP else None,
            oco_group=group,
        )
        place_spread(ctx, order, ts)


def still_held(ctx: AccountContext, spread: Spread, units: int, closing: bool) -> bool:
    """Whether the book holds `units` of `spread` (its opening legs; `closing` names a closing
    spread, whose legs trade against what is held)."""
    for leg in spread.legs:
        holding = ctx.state.book.holdings.get(leg.instrument)
        if holding is None:
            return False
        held_long = holding.quantity > 0
        opened_long = (leg.side == Side.BUY) != closing
        if held_long != opened_long or abs(holding.quantity) < units * leg.ratio:
            return False
    return True


def forget_closed(ctx: AccountContext, ts: int, reason: str) -> None:
    """Forget the held spreads whose legs are no longer all held, cancelling their exits."""
    state = ctx.state
    for held in [h for h in state.open_spreads if not still_held(ctx, h.spread, h.units, False)]:
        state.open_spreads.remove(held)
        cancel_groups(ctx, {make_id(held.spread_id, "oco")}, ts, reason)


def cancel_groups(ctx: AccountContext, groups: Collection[str], ts: int, reason: str) -> None:
    """Cancel the working spread orders of these OCO groups (a held spread's exits)."""
    for order in [o for o in ctx.state.spread_orders if o.oco_group and o.oco_group in groups]:
        ctx.state.spread_orders.remove(order)
        end_spread(ctx, order, OrderStatus.CANCELLED, ts, reason)


def cancel_symbol_exits(ctx: AccountContext, underlying: str, ts: int, reason: str) -> None:
    """A signal closes the symbol's options: its held spreads' exits are cancelled now."""
    groups = {
        make_id(h.spread_id, "oco")
        for h in ctx.state.open_spreads
        if h.spread.underlying == underlying
    }
    cancel_groups(ctx, groups, ts, reason)
    for held in ctx.state.open_spreads:
        if held.spread.underlying == underlying:
            held.time_stop_at = None


def cancel_spread_by_leg(
    ctx: AccountContext, order_id: str, ts: int, reason: str, command_id: str
) -> bool:
    """An operator's cancel of any leg's order cancels the whole spread; False if no working
    spread has a leg of that id."""
    order = next(
        (o for o in ctx.state.spread_orders if any(x.order_id == order_id for x in o.orders)),
        None,
    )
    if order is None:
        return False
    ctx.state.spread_orders.remove(order)
    for leg_order in order.orders:
        leg_order.status = OrderStatus.CANCELLED
        ctx.emit_order_event(leg_order, ts, reason, command_id)
    return True


# --- closing a held spread at once -------------------------------------------------------------


def close_now(
    ctx: AccountContext, held: OpenSpread, ts: int, purpose: str, spread_id: str, command_id: str
) -> str:
    """Close `held` as one at `ts` at its legs' quotes (rows `new`, then `filled` or `rejected`);
    '' if it closed, else why not. The kill switch takes no notice of quoted sizes (as for a
    single position); a time stop needs every leg's size to cover it, like any spread."""
    state = ctx.state
    closing = held.spread.reversed()
    params = ctx.params
    unquoted = [
        leg.instrument
        for leg in closing.legs
        if params.option_quotes and leg.instrument not in state.quotes
    ]
    if held.spread.underlying not in state.quotes or unquoted:
        return f"no quote for {', '.join(unquoted) or held.spread.underlying}"
    legs = [
        replace(
            closing_leg(ctx, state.book.holdings[leg.instrument], ts),
            quantity=held.units * leg.ratio,
        )
        for leg in closing.legs
    ]
    template = order_template(purpose, OrderType.MARKET, closing.legs[0].side, ts, ts)
    ids = [make_id(spread_id, "leg", n) for n in range(len(legs))]
    order = RestingSpread(
        spread_id=spread_id,
        spread=closing,
        units=held.units,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        purpose=purpose,
        active_ts=ts,
        expires_ts=None,
        orders=leg_orders(closing, held.units, ids, template),
    )
    for leg_order in order.orders:
        ctx.emit_order_event(leg_order, ts, command_id=command_id)
    cover = purpose != "kill_switch"
    outcome = work_spread(order, quotes_now(ctx, legs, ts), ts, state.config.costs, cover)
    if outcome.fill is None:
        for leg_order in order.orders:
            leg_order.status = OrderStatus.REJECTED
            ctx.emit_order_event(leg_order, ts, outcome.reason, command_id)
        return outcome.reason
    book_spread(ctx, order, legs, outcome.fill, command_id)
    return ""


# --- boundaries of event time ------------------------------------------------------------------


def spread_boundaries(ctx: AccountContext) -> list[int]:
    state = ctx.state
    times = [o.expires_ts for o in state.spread_orders if o.expires_ts is not None]
    times.extend(h.time_stop_at for h in state.open_spreads if h.time_stop_at is not None)
    return times


def on_spread_boundary(ctx: AccountContext, at: int) -> None:
    """Expired legs end their spreads; time stops close theirs; day orders run out."""
    state = ctx.state
    forget_closed(ctx, at, "the option expired")
    for held in [
        h for h in state.open_spreads if h.time_stop_at is not None and h.time_stop_at <= at
    ]:
        held.time_stop_at = None
        reason = "the time stop closes the position"
        cancel_groups(ctx, {make_id(held.spread_id, "oco")}, at, reason)
        if still_held(ctx, held.spread, held.units, False):
            close_now(ctx, held, at, "time_stop", make_id(held.spread_id, "time_stop"), "")
    for order in [
        o for o in state.spread_orders if o.expires_ts is not None and o.expires_ts <= at
    ]:
        state.spread_orders.remove(order)
        end_spread(
            ctx,
            order,
            OrderStatus.EXPIRED,
            at,
            f"time in force {order.time_in_force.value} ran out",
        )
        price = f" at a net {order.limit:,.4f}" if order.limit is not None else ""
        ctx.alert(
            ts=at,
            kind="order_expired",
            severity=Severity.INFO,
            message=f"{order.order_type.value} spread order {order.spread_id} "
            f"({describe(order.spread, order.units)}{price}) expired unfilled",
            key=order.spread_id,
        )
