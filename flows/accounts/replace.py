"""Cancel-and-replace: an operator's new terms for a working order.

The working order ends with a `replaced` row whose reason names the order that replaces it;
the new order (its id derived from the old one's and the command's, so a replay writes the
same rows) starts with a `new` row whose reason names the order it replaces. Both rows carry
the command's id (`command_id`): that is how `GET /commands/{id}` tells it applied. The new order
keeps what the old one was for: its side, instrument, type, time in force and expiry, its
decision, parent and OCO group (a bracket's exit stays in its bracket), and a trailing stop's
reference. It works what is left: the new total quantity less what the old order filled (those
fills stay the old order's). It reaches the market after the config's latency, like any order;
a triggered stop-limit stays triggered unless its stop price changes.

A replace is refused, with a `replace_rejected` alert and no row, when the order is not
working (unknown, or already filled, cancelled or expired), when a term does not belong to its
type, when the new quantity leaves nothing to work, or when an exit would close more than the
position it closes.
"""

from __future__ import annotations

from dataclasses import replace

from flows.accounts.context import AccountContext
from flows.trading.ids import make_id
from flows.trading.orders import RestingOrder
from schemas.common import OrderStatus
from schemas.config import ControlCommand

NOT_WORKING = "is not working (unknown, or already filled, cancelled or expired)"


def replace_order(ctx: AccountContext, ts: int, command: ControlCommand) -> None:
    """Apply `command` (a replace_order) at event time `ts`, or refuse it with an alert."""
    state = ctx.state
    order = next((o for o in state.pending if o.order_id == command.order_id), None)
    if order is None:
        problem = NOT_WORKING
    else:
        fault = command.problem_for(order.order_type, order.filled)
        problem = fault[1] if fault is not None else _too_big(ctx, order, command)
    if order is None or problem:
        why = f"order {command.order_id} {problem}"
        ctx.refuse_command(ts, command.command_id, "replace_rejected", why)
        return
    new = _replacement(ctx, order, command, ts)
    order.status = OrderStatus.REPLACED
    command_id = command.command_id
    because = f"(command {command_id})"
    ctx.emit_order_event(order, ts, f"replaced by {new.order_id} {because}", command_id)
    state.pending.remove(order)
    state.pending.append(new)  # the newest working order: oldest-first order still holds
    ctx.emit_order_event(new, ts, f"replaces {order.order_id} {because}", command_id)


def _too_big(ctx: AccountContext, order: RestingOrder, command: ControlCommand) -> str:
    """Why the new quantity is too big for an exit ('' if it fits): an exit only closes."""
    if order.purpose == "entry" or command.quantity is None:
        return ""
    holding = ctx.state.book.holdings.get(order.instrument)
    held = abs(holding.quantity) if holding is not None else 0
    rest = command.quantity - order.filled
    if rest <= held:
        return ""
    return (
        f"cannot work {rest:,} more: it closes a position of {held:,} {order.instrument} "
        f"({order.purpose} exits only close)"
    )


def _replacement(
    ctx: AccountContext, order: RestingOrder, command: ControlCommand, ts: int
) -> RestingOrder:
    """The order with the command's terms, working what the old one left."""
    terms: dict[str, float | None] = dict(command.changes)
    quantity = command.quantity if command.quantity is not None else order.quantity
    terms.pop("quantity", None)
    if "trail_amount" in terms:  # a trail by amount replaces one by percent, and back
        terms["trail_percent"] = None
    elif "trail_percent" in terms:
        terms["trail_amount"] = None
    stop_moved = any(name in terms for name in ("stop_price", "trail_amount", "trail_percent"))
    return replace(
        order,
        order_id=make_id(order.order_id, "replace", command.command_id),
        quantity=quantity - order.filled,
        placed_ts=ts,
        active_ts=ts + ctx.state.config.costs.latency_ms,
        filled=0,
        filled_value=0.0,
        triggered=order.triggered and not stop_moved,
        sequence=0,
        status=OrderStatus.NEW,
        **terms,  # type: ignore[arg-type]
    )
