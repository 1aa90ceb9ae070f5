"""Settling the account's options when they expire."""

from __future__ import annotations

from flows.accounts.context import AccountContext
from flows.accounts.fills import record_fill
from flows.accounts.resting import cancel_exits
from flows.trading.ids import make_id
from flows.trading.orders import RestingOrder
from flows.trading.portfolio import FillRequest, expiring, settle_expiry
from schemas.common import ExitReason, OrderStatus, OrderType, TimeInForce


def settle_expiries(ctx: AccountContext, at: int) -> None:
    """Options expiring at `at` settle at intrinsic value against the underlying's last mid."""
    state = ctx.state
    for instrument in expiring(state.book, at):
        holding = state.book.holdings[instrument]
        cancel_exits(ctx, instrument, at, "the option expired")
        spot = state.quotes[holding.underlying].mid
        outcome = settle_expiry(state.book, instrument, spot, at)
        order_id = make_id(ctx.run_id, ctx.account_id, "exp", instrument, at)
        _order_rows(ctx, order_id, outcome.request, outcome.price, at)
        record_fill(
            ctx,
            outcome,
            fill_id=make_id(order_id, "fill"),
            order_id=order_id,
            slippage_cents=0,
            reason="expiry",
            mark=None,
            exit_reason=ExitReason.EXPIRY,
        )


def _order_rows(
    ctx: AccountContext, order_id: str, fill: FillRequest, price: float, at: int
) -> None:
    """The settlement as an order's rows (`new`, then `filled` at the settlement price), so
    every fill has an order history."""
    order = RestingOrder(
        order_id=order_id,
        instrument=fill.instrument,
        underlying=fill.underlying,
        asset_class=fill.asset_class,
        multiplier=fill.multiplier,
        side=fill.side,
        quantity=fill.quantity,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        purpose="expiry",
        placed_ts=at,
        active_ts=at,
    )
    ctx.emit_order_event(order, at)
    order.filled, order.filled_value = fill.quantity, price * fill.quantity
    order.status = OrderStatus.FILLED
    ctx.emit_order_event(order, at, "settled at intrinsic value")
