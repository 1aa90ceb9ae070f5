"""Settling the account's options when they expire."""

from __future__ import annotations

from flows.accounts.context import AccountContext
from flows.accounts.fills import record_fill
from flows.accounts.resting import cancel_exits
from flows.trading.ids import make_id
from flows.trading.portfolio import expiring, settle_expiry
from schemas.common import ExitReason


def settle_expiries(ctx: AccountContext, at: int) -> None:
    """Options expiring at `at` settle at intrinsic value against the underlying's last mid."""
    state = ctx.state
    for instrument in expiring(state.book, at):
        holding = state.book.holdings[instrument]
        cancel_exits(ctx, instrument, at, "the option expired")
        spot = state.quotes[holding.underlying].mid
        outcome = settle_expiry(state.book, instrument, spot, at)
        order_id = make_id(ctx.run_id, ctx.account_id, "exp", instrument, at)
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
