"""Quoted sizes on option quotes, worked by hand through the account: a single-leg option order
fills at most the size on its side of each option quote and waits through a locked one; a
market order on a locked option quote with sizes is rejected; a spread fills only when every
leg's size covers it, all legs or none.

Costs have no slippage (a buy fills at the ask, a sell at the bid); sizes are in contracts.
"""

from __future__ import annotations

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.control import apply_control
from flows.accounts.legs import OPTION_MULTIPLIER, Leg
from flows.accounts.resting import fill_now, order_for
from flows.accounts.state import Outputs, Quote, new_account
from flows.accounts.timeline import advance, arm
from flows.trading.spreads import Spread
from flows.trading.ticks import NO_SIZE, Segment
from schemas.common import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from tests.flows.accounts.test_spread_orders import (
    CREDIT_VERTICAL,
    EXPIRY_TS,
    LIMIT,
    NO_SLIPPAGE,
    OPENED,
    PUT_90,
    PUT_95,
    QUOTED,
    T,
    cents,
    config,
    deciding,
    holding,
    kill,
    ticks,
)

Row = tuple[int, str, float, float, int | None, int | None]


def sized_ticks(*rows: Row) -> Segment:
    """(ms after T, symbol, bid, ask, bid size, ask size) rows, in order; None sizes: a row
    without sizes."""
    segment = ticks(*(row[:4] for row in rows))
    segment.bid_size = np.array([NO_SIZE if r[4] is None else r[4] for r in rows], dtype=np.int64)
    segment.ask_size = np.array([NO_SIZE if r[5] is None else r[5] for r in rows], dtype=np.int64)
    return segment


def run(ctx: AccountContext, segment: Segment) -> Outputs:
    out = advance(ctx.state, segment, int(segment.ts[-1]) + 1, ctx.params)
    ctx.out.extend(out)
    return out


# --- a single-leg option order -----------------------------------------------------------------


def quoted_put(bid: float, ask: float, bid_size: int, ask_size: int) -> AccountContext:
    """An account on option quotes whose last PUT_95 quote is the one given, at T."""
    ctx = AccountContext(new_account(config()), QUOTED, Outputs())
    ctx.state.quotes["NVDA"] = Quote(T, 99.99, 100.01, 100.0)
    ctx.state.quotes[PUT_95] = Quote(T, bid, ask, (bid + ask) / 2, bid_size, ask_size)
    arm(ctx, T)
    return ctx


def buy_puts(ctx: AccountContext, quantity: int) -> bool:
    """A market order for `quantity` PUT_95 at its latest quote, filled at once as far as it
    goes (as a signal's order is)."""
    quote = ctx.state.quotes[PUT_95]
    leg = Leg(
        instrument=PUT_95,
        underlying="NVDA",
        asset_class=AssetClass.OPTION,
        multiplier=OPTION_MULTIPLIER,
        side=Side.BUY,
        quantity=quantity,
        opens=True,
        bid=quote.bid,
        ask=quote.ask,
        mid=quote.mid,
        delta=-0.3,
        vega=0.1,
        expiry_ts=EXPIRY_TS,
        strike=95.0,
        is_call=False,
    )
    order = order_for(ctx, leg, "buy-1", T, OrderType.MARKET)
    return fill_now(ctx, leg, order, T, "fill-1", "signal")


def test_an_option_order_fills_3_then_5_across_a_locked_option_quote() -> None:
    """Buy 8 puts with 3 offered at 2.10: 3 fill at once, the other 5 keep working; a locked
    quote with sizes (2.15 / 2.15) fills nothing; 9 offered at 2.25 fill the last 5."""
    ctx = quoted_put(2.00, 2.10, 5, 3)
    assert buy_puts(ctx, 8)
    run(
        ctx,
        sized_ticks(
            (1000, PUT_95, 2.15, 2.15, 4, 4),
            (2000, PUT_95, 2.15, 2.25, 6, 9),
        ),
    )
    rows = [(e.ts, e.status, e.filled_quantity) for e in ctx.out.order_events]
    assert rows == [
        (T, OrderStatus.NEW, 0),
        (T, OrderStatus.PARTIALLY_FILLED, 3),
        (T + 2000, OrderStatus.FILLED, 8),
    ]
    assert [(f.ts, f.quantity, cents(f.price)) for f in ctx.out.fills] == [
        (T, 3, 210),
        (T + 2000, 5, 225),
    ]
    assert ctx.state.book.holdings[PUT_95].quantity == 8
    # the average of the two parts: (3 x 2.10 + 5 x 2.25) / 8
    assert round(ctx.out.order_events[-1].avg_fill_price * 8 * 100) == 3 * 210 + 5 * 225
    assert ctx.state.pending == []


def test_an_ioc_option_order_keeps_what_the_quote_covers() -> None:
    ctx = quoted_put(2.00, 2.10, 5, 3)
    ctx.state.config = ctx.state.config.model_copy(
        update={"costs": NO_SLIPPAGE.model_copy(update={"time_in_force": TimeInForce.IOC})}
    )
    assert buy_puts(ctx, 8)
    assert [(e.status, e.filled_quantity) for e in ctx.out.order_events] == [
        (OrderStatus.NEW, 0),
        (OrderStatus.PARTIALLY_FILLED, 3),
        (OrderStatus.CANCELLED, 3),
    ]
    assert ctx.state.pending == []


def test_a_market_order_on_a_locked_option_quote_with_sizes_is_rejected() -> None:
    ctx = quoted_put(2.05, 2.05, 10, 10)
    assert not buy_puts(ctx, 2)
    assert [e.status for e in ctx.out.order_events] == [OrderStatus.NEW, OrderStatus.REJECTED]
    assert "locked quote" in ctx.out.order_events[-1].reason
    assert ctx.out.fills == []
    assert ctx.state.book.holdings == {}


def test_an_option_quote_without_sizes_fills_whole_as_before() -> None:
    ctx = quoted_put(2.05, 2.05, 0, 0)
    ctx.state.quotes[PUT_95].bid_size = ctx.state.quotes[PUT_95].ask_size = None
    assert buy_puts(ctx, 8)
    assert [(f.quantity, cents(f.price)) for f in ctx.out.fills] == [(8, 205)]


# --- spreads: all legs covered, or nothing -----------------------------------------------------


def test_a_delayed_spread_is_rejected_when_a_legs_size_falls_short() -> None:
    """Two units need 2 contracts of each leg: the short leg's bid quotes 1, so the spread is
    rejected as one, saying which leg and why."""
    ctx, spread = deciding(NO_SLIPPAGE.model_copy(update={"latency_ms": 1000}))
    short, wing = (leg.instrument for leg in spread.legs)
    units = ctx.state.spread_orders[0].units
    assert units == 2
    out = run(ctx, sized_ticks((1100, short, 1.10, 1.15, 1, 50), (1100, wing, 0.30, 0.35, 50, 50)))
    assert out.fills == []
    rejected = [e for e in out.order_events if e.status == OrderStatus.REJECTED]
    assert [e.instrument for e in rejected] == [short, wing]
    assert all(f"leg {short}: 1 quoted at the bid, 2 needed" in e.reason for e in rejected)
    assert ctx.state.spread_orders == []
    assert ctx.state.book.holdings == {}


def test_a_delayed_spread_meeting_a_leg_locked_with_sizes_is_rejected_as_one() -> None:
    ctx, spread = deciding(NO_SLIPPAGE.model_copy(update={"latency_ms": 1000}))
    short, wing = (leg.instrument for leg in spread.legs)
    out = run(ctx, sized_ticks((1100, short, 1.10, 1.15, 9, 9), (1100, wing, 0.35, 0.35, 9, 9)))
    assert out.fills == []
    rejected = [e for e in out.order_events if e.status == OrderStatus.REJECTED]
    assert [e.instrument for e in rejected] == [short, wing]
    assert all(f"leg {wing}: locked quote" in e.reason for e in rejected)


def test_a_limit_spread_waits_through_a_short_size_then_fills_when_sizes_suffice() -> None:
    """The net meets the limit at T + 1 s but the wing's ask quotes 1 of the 2 needed: the
    spread keeps working; at T + 2 s, at the same prices, 2 are offered and both legs fill."""
    ctx, spread = deciding(LIMIT)
    short, wing = (leg.instrument for leg in spread.legs)
    (order,) = ctx.state.spread_orders
    assert order.limit is not None
    limit = cents(order.limit)
    wing_bid, wing_ask = (100 + limit - 7) / 100, (100 + limit - 2) / 100  # net limit - 0.02
    out = run(
        ctx,
        sized_ticks(
            (1000, short, 1.00, 1.10, 10, 10),
            (1000, wing, wing_bid, wing_ask, 10, 1),
            (2000, wing, wing_bid, wing_ask, 10, 2),
        ),
    )
    assert [(f.instrument, f.quantity, cents(f.price)) for f in out.fills] == [
        (short, 2, 100),
        (wing, 2, 100 + limit - 2),
    ]
    assert {f.ts for f in out.fills} == {T + 2000}
    assert len({f.spread_id for f in out.fills}) == 1
    assert ctx.state.spread_orders == []


def test_an_ioc_limit_spread_short_of_size_is_cancelled_with_the_reason() -> None:
    ctx, spread = deciding(LIMIT.model_copy(update={"time_in_force": TimeInForce.IOC}))
    short, wing = (leg.instrument for leg in spread.legs)
    limit = cents(ctx.state.spread_orders[0].limit or 0.0)
    out = run(
        ctx,
        sized_ticks(
            (1000, short, 1.00, 1.10, 0, 10),
            (1000, wing, (100 + limit - 7) / 100, (100 + limit - 2) / 100, 10, 10),
        ),
    )
    cancelled = [e for e in out.order_events if e.status == OrderStatus.CANCELLED]
    assert [e.instrument for e in cancelled] == [short, wing]
    assert all(f"ioc: leg {short}: 0 quoted at the bid, 2 needed" in e.reason for e in cancelled)
    assert out.fills == []


def sized_holding(spread: Spread, size: int) -> AccountContext:
    """`holding` of 2 units, every leg's last quote then quoting `size` on both sides."""
    ctx = holding(spread, OPENED)
    for leg in spread.legs:
        quote = ctx.state.quotes[leg.instrument]
        quote.bid_size = quote.ask_size = size
    return ctx


def test_the_kill_switch_closes_a_spread_whatever_its_legs_sizes() -> None:
    ctx = sized_holding(CREDIT_VERTICAL, 1)
    out = apply_control(ctx.state, kill(), QUOTED)
    assert [(f.instrument, f.quantity) for f in out.fills] == [(PUT_95, 2), (PUT_90, 2)]
    assert ctx.state.book.holdings == {}
