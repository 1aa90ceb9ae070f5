"""One account's context: the rows it emits, fills booked and recorded, options settled."""

from __future__ import annotations

from flows.accounts.context import AccountContext
from flows.accounts.expiries import settle_expiries
from flows.accounts.fills import book_fill
from flows.accounts.legs import Leg
from flows.accounts.resting import order_for, place
from flows.accounts.state import AccountParams, Outputs, Quote, new_account
from flows.trading.chain import ChainParams, synthesize_chain
from flows.trading.ids import make_id
from flows.trading.portfolio import FillRequest, apply_fill, new_book
from flows.trading.selection import select_option
from schemas.common import OrderStatus, OrderType, Severity, Side, TradingStatus, money
from schemas.config import AlgorithmConfig, MovingAverageCross
from tests.flows.trading.books import TS

CONFIG = AlgorithmConfig(
    account_id="acct-1", symbols=["AAPL"], strategy=MovingAverageCross(fast=5, slow=20)
)
QUOTE = Quote(ts=TS, bid=99.98, ask=100.02, last=100.0)


def account() -> AccountContext:
    return AccountContext(new_account(CONFIG), AccountParams(run_id="test"), Outputs())


def option_leg(side: Side, quantity: int) -> Leg:
    chain = synthesize_chain("AAPL", 100.0, TS, ChainParams())
    index = select_option(chain, True, 0.4, 7, side=side)
    assert index is not None
    return Leg.option_opening(chain, index, side, quantity)


def test_fill_rows_book_again_exactly_as_the_legs_were_booked() -> None:
    """A leg's request, booked live, and the request read back from its fill row (booked price,
    commission in cents, option terms from the OCC symbol) agree, so `trades_from_fills`
    rebuilds the account's book."""
    ctx = account()
    legs = [
        option_leg(Side.BUY, 2),
        Leg.equity_opening("AAPL", Side.BUY, 30, QUOTE),
        Leg.equity_opening("AAPL", Side.SELL, 50, QUOTE),  # through zero: closes 30, shorts 20
    ]
    for n, leg in enumerate(legs):
        price = leg.price + 0.00004  # off the 0.0001 grid: the row records the booked price
        book_fill(ctx, leg, TS + n, price, 100 + n, fill_id=f"f{n}", order_id=f"o{n}", reason="x")
    again = new_book(CONFIG.starting_cash)
    for n, (leg, row) in enumerate(zip(legs, ctx.out.fills, strict=True)):
        request = FillRequest.from_row(row)
        assert request == leg.fill_request(TS + n, round(leg.price, 4), 100 + n)
        assert row.price == round(leg.price, 4)
        apply_fill(again, request)
    book = ctx.state.book
    assert (again.cash_cents, again.holdings) == (book.cash_cents, book.holdings)
    assert (again.realised_cents, again.commissions_cents) == (
        book.realised_cents,
        book.commissions_cents,
    )


def test_a_recorded_fill_marks_the_position_and_counts_its_slippage() -> None:
    ctx = account()
    leg = Leg.equity_opening("AAPL", Side.BUY, 30, QUOTE)
    book_fill(ctx, leg, TS, 100.03, 15, fill_id="f", order_id="o", reason="signal")
    [row] = ctx.out.fills
    assert (row.fill_id, row.order_id, row.run_id, row.account_id) == ("f", "o", "test", "acct-1")
    assert (row.price, row.commission, row.slippage, row.realised_pnl) == (100.03, 0.15, 0.3, -0.15)
    assert ctx.state.marks == {"AAPL": QUOTE.mid}
    # cash 100,000 - 3,000.90 - 0.15, and 30 shares marked at the mid of 100.00
    assert ctx.state.equity == 99_998.95


def test_an_expiring_option_settles_as_a_fill_without_costs() -> None:
    ctx = account()
    leg = option_leg(Side.BUY, 2)
    assert leg.expiry_ts is not None
    assert leg.strike is not None
    book_fill(ctx, leg, TS, leg.price, 130, fill_id="f", order_id="o", reason="signal")
    ctx.state.quotes["AAPL"] = Quote(ts=TS, bid=leg.strike + 4.98, ask=leg.strike + 5.02, last=0.0)
    settle_expiries(ctx, leg.expiry_ts)
    expiry = ctx.out.fills[-1]
    order_id = make_id("test", "acct-1", "exp", leg.instrument, leg.expiry_ts)
    assert (expiry.order_id, expiry.fill_id) == (order_id, make_id(order_id, "fill"))
    assert (expiry.reason, expiry.side, expiry.quantity, expiry.ts) == (
        "expiry",
        Side.SELL,
        2,
        leg.expiry_ts,
    )
    assert (expiry.price, expiry.commission, expiry.slippage) == (5.0, 0.0, 0.0)
    assert ctx.state.book.holdings == {}
    assert ctx.state.marks == {}
    assert ctx.state.equity == money(ctx.state.book.cash_cents)


def test_stopping_trading_cancels_resting_orders_and_records_a_new_state_version() -> None:
    ctx = account()
    opening = Leg.equity_opening("AAPL", Side.BUY, 5, QUOTE)
    place(ctx, order_for(ctx, opening, "o", TS, OrderType.LIMIT, limit_price=99.9), TS)
    ctx.set_status(TS + 1, TradingStatus.HALTED, "max_daily_loss", command_id="")
    assert ctx.state.pending == []
    new, cancelled = ctx.out.order_events
    assert (new.status, new.sequence, cancelled.status, cancelled.sequence) == (
        OrderStatus.NEW,
        0,
        OrderStatus.CANCELLED,
        1,
    )
    assert cancelled.reason == "trading halted: max_daily_loss"
    [state] = ctx.out.states
    assert (state.status, state.reason, state.version, state.ts) == (
        TradingStatus.HALTED,
        "max_daily_loss",
        1,
        TS + 1,
    )
    assert (state.equity, state.cash, state.open_positions) == (100_000.0, 100_000.0, 0)


def test_an_alert_id_names_the_run_account_kind_time_and_key() -> None:
    ctx = account()
    ctx.alert(ts=TS, kind="order_expired", severity=Severity.INFO, message="x" * 1200, key="o-1")
    [alert] = ctx.out.alerts
    assert alert.alert_id == f"test:acct-1:order_expired:{TS}:o-1"
    assert len(alert.message) == 1000
