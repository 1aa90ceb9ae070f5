"""Booking a fill into the account's book and recording what it did."""

from __future__ import annotations

from flows.accounts.context import AccountContext
from flows.accounts.guards import note_closed_trade
from flows.accounts.legs import Leg
from flows.trading.paper_broker import slippage_cost_cents
from flows.trading.portfolio import FillOutcome, apply_fill
from flows.trading.valuation import equity
from schemas.common import ExitReason


def book_fill(
    ctx: AccountContext,
    leg: Leg,
    ts: int,
    price: float,
    commission_cents: int,
    *,
    fill_id: str,
    order_id: str,
    reason: str,
    exit_reason: ExitReason = ExitReason.NONE,
    spread_id: str = "",
) -> None:
    """Fill `leg` at `price` (currency per unit) against its quote, paying `commission_cents`;
    the slippage recorded is the distance from the leg's touch. `spread_id` names the
    multi-leg order the leg belongs to ('' for none)."""
    outcome = apply_fill(ctx.state.book, leg.fill_request(ts, price, commission_cents))
    slippage = slippage_cost_cents(
        leg.side, leg.bid, leg.ask, outcome.price, leg.quantity, leg.multiplier
    )
    record_fill(
        ctx,
        outcome,
        fill_id=fill_id,
        order_id=order_id,
        slippage_cents=slippage,
        reason=reason,
        mark=leg.mid,
        exit_reason=exit_reason,
        spread_id=spread_id,
    )


def record_fill(
    ctx: AccountContext,
    outcome: FillOutcome,
    *,
    fill_id: str,
    order_id: str,
    slippage_cents: int,
    reason: str,
    mark: float | None,
    exit_reason: ExitReason = ExitReason.NONE,
    spread_id: str = "",
) -> None:
    """Emit a booked fill and bring the day's trades, the marks and the equity up to date.

    `mark` is the instrument's mark if a position remains (None when it was settled away).
    """
    ctx.emit_fill(
        outcome,
        fill_id=fill_id,
        order_id=order_id,
        slippage_cents=slippage_cents,
        reason=reason,
        exit_reason=exit_reason,
        spread_id=spread_id,
    )
    state = ctx.state
    for trade in outcome.trades:
        state.day.record_trade(trade.pnl_cents, trade.commissions_cents)
        note_closed_trade(ctx, trade)
    state.book.closed_trades.clear()  # the day tracker has them; the fills table keeps them all
    instrument = outcome.request.instrument
    if instrument in state.book.holdings and mark is not None:
        state.marks[instrument] = mark
    else:
        state.marks.pop(instrument, None)
    state.equity = equity(state.book, state.marks)
