"""Spread orders that wait (latency, a net limit), a held spread's exits and the kill switch
closing spreads as one, worked by hand over hand-made option quotes through `advance`.

Costs have no slippage, so a buy fills at the ask and a sell at the bid: every price below is
a touch. Net prices are per spread unit per share (debit positive, credit negative).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.control import apply_control
from flows.accounts.legs import OPTION_MULTIPLIER, Leg
from flows.accounts.spread_orders import book_spread, leg_orders, order_template
from flows.accounts.spreads import trade_spread
from flows.accounts.state import AccountParams, Outputs, Quote, new_account
from flows.accounts.timeline import advance, arm
from flows.trading.chain import ChainParams, expiry_ts_ms, occ_symbol, synthesize_chain
from flows.trading.spread_orders import RestingSpread, work_spread
from flows.trading.spreads import LegQuote, Spread, SpreadLeg, vertical
from flows.trading.ticks import Segment
from schemas.common import (
    AssetClass,
    Direction,
    ExitReason,
    OrderStatus,
    OrderType,
    PremiumSpread,
    Severity,
    Side,
    TimeInForce,
    TradingStatus,
)
from schemas.config import (
    AlgorithmConfig,
    ControlCommand,
    Costs,
    Exits,
    InstrumentSelection,
    RiskLimits,
    Sizing,
    VolatilityPremium,
)

T = 1_795_000_000_000  # a Wednesday, 2026-11-18, during the New York session
EXPIRY = date(2026, 12, 18)
EXPIRY_TS = expiry_ts_ms(EXPIRY, ChainParams())
QUOTED = AccountParams(run_id="test", option_quotes=True)
NO_SLIPPAGE = Costs(slippage_bps=0.0, commission_per_contract=0.65, min_commission=1.0)


def contract(strike: float, is_call: bool = False) -> str:
    return occ_symbol("NVDA", EXPIRY, is_call, strike)


def config(
    costs: Costs = NO_SLIPPAGE,
    exits: Exits | None = None,
    spread: PremiumSpread = PremiumSpread.VERTICAL,
) -> AlgorithmConfig:
    return AlgorithmConfig(
        account_id="premium",
        symbols=["NVDA"],
        strategy=VolatilityPremium(),  # no signal in a few ticks
        selection=InstrumentSelection(
            kind="option", target_delta=0.2, days_to_expiry=7, premium_spread=spread, wing_width=5
        ),
        sizing=Sizing(quantity=2),
        costs=costs,
        exits=exits or Exits(),
        limits=RiskLimits(trading_hours=None),
    )


def ticks(*rows: tuple[int, str, float, float]) -> Segment:
    """(ms after T, symbol, bid, ask) rows, in order."""
    symbols = tuple(dict.fromkeys(r[1] for r in rows))
    n = len(rows)
    return Segment(
        ts=np.array([T + r[0] for r in rows], dtype=np.int64),
        codes=np.array([symbols.index(r[1]) for r in rows], dtype=np.int32),
        symbols=symbols,
        bid=np.array([r[2] for r in rows]),
        ask=np.array([r[3] for r in rows]),
        last=np.array([(r[2] + r[3]) / 2 for r in rows]),
        volume=np.zeros(n, dtype=np.int64),
        partition=np.zeros(n, dtype=np.int32),
        offsets=np.arange(n, dtype=np.int64),
    )


def run(ctx: AccountContext, segment: Segment) -> Outputs:
    out = advance(ctx.state, segment, int(segment.ts[-1]) + 1, ctx.params)
    ctx.out.extend(out)
    return out


# --- a spread held by hand ---------------------------------------------------------------------

PUT_95, PUT_90 = contract(95.0), contract(90.0)
CALL_105, CALL_110 = contract(105.0, True), contract(110.0, True)


def spread_leg(name: str, side: Side, strike: float, is_call: bool = False) -> SpreadLeg:
    return SpreadLeg(name, side, 1, strike, is_call, EXPIRY_TS)


CREDIT_VERTICAL = Spread(
    "vertical",
    "NVDA",
    (spread_leg(PUT_95, Side.SELL, 95.0), spread_leg(PUT_90, Side.BUY, 90.0)),
)
IRON_CONDOR = Spread(
    "iron_condor",
    "NVDA",
    (
        *CREDIT_VERTICAL.legs,
        spread_leg(CALL_105, Side.SELL, 105.0, True),
        spread_leg(CALL_110, Side.BUY, 110.0, True),
    ),
)


def holding(
    spread: Spread, quotes: dict[str, tuple[float, float]], cfg: AlgorithmConfig | None = None
) -> AccountContext:
    """An account that opened 2 units of `spread` at T at `quotes` (bid, ask per contract)."""
    ctx = AccountContext(new_account(cfg or config()), QUOTED, Outputs())
    ctx.state.quotes["NVDA"] = Quote(T, 99.99, 100.01, 100.0)
    for name, (bid, ask) in quotes.items():
        ctx.state.quotes[name] = Quote(T, bid, ask, (bid + ask) / 2)
    legs = [
        Leg(
            instrument=leg.instrument,
            underlying="NVDA",
            asset_class=AssetClass.OPTION,
            multiplier=OPTION_MULTIPLIER,
            side=leg.side,
            quantity=2,
            opens=True,
            bid=quotes[leg.instrument][0],
            ask=quotes[leg.instrument][1],
            mid=sum(quotes[leg.instrument]) / 2,
            delta=0.0,
            vega=0.0,
            expiry_ts=EXPIRY_TS,
            strike=leg.strike,
            is_call=leg.is_call,
        )
        for leg in spread.legs
    ]
    template = order_template("entry", OrderType.MARKET, Side.SELL, T, T)
    order = RestingSpread(
        spread_id="opened",
        spread=spread,
        units=2,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        purpose="entry",
        active_ts=T,
        expires_ts=None,
        orders=leg_orders(spread, 2, [f"open-{n}" for n in range(len(legs))], template),
    )
    quoted = [LegQuote(leg.bid, leg.ask, T) for leg in legs]
    outcome = work_spread(order, quoted, T, ctx.state.config.costs)
    assert outcome.fill is not None
    book_spread(ctx, order, legs, outcome.fill)
    return ctx


def cents(price: float) -> int:
    return round(price * 100)


# Sold the 95 put at its bid 2.00 and bought the 90 put at its ask 0.80: a credit of 1.20.
OPENED = {PUT_95: (2.00, 2.10), PUT_90: (0.70, 0.80)}
BRACKET = Exits(stop_loss_pct=0.5, take_profit_pct=0.5)  # close at 1.80 (stop) or 0.60 (take)


def test_a_held_credit_verticals_exits_are_priced_on_the_cost_to_close() -> None:
    ctx = holding(CREDIT_VERTICAL, OPENED, config(exits=BRACKET))
    (held,) = ctx.state.open_spreads
    assert cents(held.entry_net) == -120
    exits = {o.purpose: o for o in ctx.state.spread_orders}
    assert cents(exits["stop_loss"].stop or 0.0) == 180
    assert cents(exits["take_profit"].limit or 0.0) == 60
    assert [leg.side for leg in exits["stop_loss"].spread.legs] == [Side.BUY, Side.SELL]


def test_a_credit_verticals_stop_loss_fills_at_the_first_cost_past_it() -> None:
    """Closing buys the 95 put at its ask and sells the 90 put at its bid. A cost of 2.25 -
    0.50 = 1.75 is inside the stop; 2.40 - 0.55 = 1.85 is past it and fills there (a gap
    through the stop fills at the market, not at 1.80); the take-profit is cancelled."""
    ctx = holding(CREDIT_VERTICAL, OPENED, config(exits=BRACKET))
    out = run(
        ctx,
        ticks(
            (1000, PUT_95, 2.15, 2.25),
            (1000, PUT_90, 0.50, 0.60),
            (2000, PUT_95, 2.30, 2.40),
            (2000, PUT_90, 0.55, 0.65),
        ),
    )
    closing = out.fills
    assert [(f.instrument, f.side, f.quantity, cents(f.price)) for f in closing] == [
        (PUT_95, Side.BUY, 2, 240),
        (PUT_90, Side.SELL, 2, 55),
    ]
    assert {(f.ts, f.exit_reason) for f in closing} == {(T + 2000, ExitReason.STOP_LOSS)}
    assert len({f.spread_id for f in closing}) == 1
    # -(entry + close) = -(-1.20 + 1.85) = -0.65 per share, x 100 x 2 units: -130.00 before
    # the closing commissions (1.30 a leg)
    assert sum(cents(f.realised_pnl) for f in closing) == -13_000 - 2 * 130
    cancelled = [e for e in out.order_events if e.status == OrderStatus.CANCELLED]
    assert {e.purpose for e in cancelled} == {"take_profit"}
    assert all("one-cancels-other" in e.reason for e in cancelled)
    assert ctx.state.book.holdings == {}
    assert ctx.state.open_spreads == []
    assert ctx.state.spread_orders == []


def test_a_credit_verticals_take_profit_fills_as_one_when_the_cost_falls_to_it() -> None:
    """1.00 - 0.35 = 0.65 is above the take-profit of 0.60; 0.85 - 0.30 = 0.55 meets it, and
    the legs fill at those touches (a limit gets the market's better price, no slippage)."""
    ctx = holding(CREDIT_VERTICAL, OPENED, config(exits=BRACKET))
    out = run(
        ctx,
        ticks(
            (1000, PUT_95, 0.90, 1.00),
            (1000, PUT_90, 0.35, 0.45),
            (3000, PUT_95, 0.80, 0.85),
            (3000, PUT_90, 0.30, 0.40),
        ),
    )
    assert [(f.instrument, cents(f.price), f.exit_reason) for f in out.fills] == [
        (PUT_95, 85, ExitReason.TAKE_PROFIT),
        (PUT_90, 30, ExitReason.TAKE_PROFIT),
    ]
    assert {f.ts for f in out.fills} == {T + 3000}
    assert sum(cents(f.realised_pnl) for f in out.fills) == 13_000 - 2 * 130
    assert {e.purpose for e in out.order_events if e.status == OrderStatus.CANCELLED} == {
        "stop_loss"
    }


def test_the_time_stop_closes_the_spread_as_one_at_its_quotes() -> None:
    ctx = holding(CREDIT_VERTICAL, OPENED, config(exits=Exits(time_stop_seconds=60)))
    assert ctx.state.spread_orders == []  # no price exits asked for
    out = run(ctx, ticks((30_000, PUT_95, 1.50, 1.60), (61_000, "NVDA", 100.0, 100.02)))
    assert [(f.instrument, cents(f.price), f.ts) for f in out.fills] == [
        (PUT_95, 160, T + 60_000),
        (PUT_90, 70, T + 60_000),
    ]
    assert {f.exit_reason for f in out.fills} == {ExitReason.TIME_STOP}
    assert ctx.state.book.holdings == {}


# --- the kill switch ---------------------------------------------------------------------------


def kill(command_id: str = "kill-1", ts: int = T + 5000) -> ControlCommand:
    return ControlCommand(
        command_id=command_id,
        account_id="premium",
        ts=ts,
        action="kill_switch",  # type: ignore[arg-type]
        reason="drill",
    )


CONDOR = {**OPENED, CALL_105: (1.50, 1.60), CALL_110: (0.40, 0.50)}


def test_the_kill_switch_closes_an_iron_condor_as_one_spread() -> None:
    ctx = holding(IRON_CONDOR, CONDOR, config(exits=BRACKET))
    out = apply_control(ctx.state, kill(), QUOTED)
    assert [(f.instrument, f.side, cents(f.price)) for f in out.fills] == [
        (PUT_95, Side.BUY, 210),
        (PUT_90, Side.SELL, 70),
        (CALL_105, Side.BUY, 160),
        (CALL_110, Side.SELL, 40),
    ]
    assert {(f.ts, f.exit_reason) for f in out.fills} == {(T + 5000, ExitReason.KILL_SWITCH)}
    assert len({f.spread_id for f in out.fills}) == 1
    kills = [e for e in out.order_events if e.purpose == "kill_switch"]
    assert [e.status for e in kills] == [OrderStatus.NEW] * 4 + [OrderStatus.FILLED] * 4
    assert all(e.command_id == "kill-1" for e in kills)
    assert ctx.state.book.holdings == {}
    assert ctx.state.status == TradingStatus.HALTED
    assert ctx.state.spread_orders == []  # the exits died with the halt


def test_a_spread_with_an_unquoted_leg_stays_open_whole_with_a_critical_alert() -> None:
    ctx = holding(IRON_CONDOR, CONDOR)
    del ctx.state.quotes[CALL_110]
    out = apply_control(ctx.state, kill(), QUOTED)
    assert out.fills == []
    assert len(ctx.state.book.holdings) == 4  # no leg closed on its own
    (alert,) = [a for a in out.alerts if a.kind == "kill_switch_unfilled"]
    assert alert.severity == Severity.CRITICAL
    assert "spread opened" in alert.message
    assert f"no quote for {CALL_110}" in alert.message
    assert ctx.state.status == TradingStatus.HALTED
    # once the leg is quoted, a second kill switch closes the condor
    ctx.state.quotes[CALL_110] = Quote(T + 6000, 0.35, 0.45, 0.40)
    again = apply_control(ctx.state, kill("kill-2", T + 7000), QUOTED)
    assert len(again.fills) == 4
    assert ctx.state.book.holdings == {}


def test_a_crossed_leg_rejects_every_leg_of_the_kill_switchs_spread() -> None:
    ctx = holding(CREDIT_VERTICAL, OPENED)
    ctx.state.quotes[PUT_90] = Quote(T + 1000, 0.90, 0.80, 0.85)
    out = apply_control(ctx.state, kill(), QUOTED)
    assert out.fills == []
    rejected = [e for e in out.order_events if e.status == OrderStatus.REJECTED]
    assert [e.instrument for e in rejected] == [PUT_95, PUT_90]
    assert all("crossed quote" in e.reason for e in rejected)
    (alert,) = [a for a in out.alerts if a.kind == "kill_switch_unfilled"]
    assert "crossed quote" in alert.message


# --- orders that wait: latency and a net limit -------------------------------------------------


def synthetic_market(ctx: AccountContext) -> Spread:
    """NVDA at 100 and the model's chain quoted at T; the credit vertical the account sells."""
    ctx.state.quotes["NVDA"] = Quote(T, 99.98, 100.02, 100.0)
    chain = synthesize_chain("NVDA", 100.0, T, ChainParams())
    for n, name in enumerate(chain.contracts):
        bid, ask = float(chain.bid[n]), float(chain.ask[n])
        ctx.state.quotes[name] = Quote(T, bid, ask, (bid + ask) / 2)
    spread = vertical(chain, False, 0.2, 7, 5.0, credit=True)
    assert spread is not None
    return spread


def deciding(costs: Costs) -> tuple[AccountContext, Spread]:
    ctx = AccountContext(new_account(config(costs)), QUOTED, Outputs())
    spread = synthetic_market(ctx)
    arm(ctx, T)  # the trading day the decision belongs to, as the first tick of a day does
    trade_spread(ctx, "NVDA", Direction.SHORT, 1.0, T, (0, 1), "sig-1")
    assert ctx.out.fills == []
    assert [e.status for e in ctx.out.order_events] == [OrderStatus.NEW] * 2
    return ctx, spread


def test_a_spread_reaches_the_market_after_its_latency_and_fills_at_the_quotes_then() -> None:
    """Decided at T with 1 s of latency: quotes at T + 0.5 s are before it arrives; at T +
    1.2 s only the short leg has quoted since, so it waits; at T + 1.5 s the wing quotes and
    both fill there, the short leg at its T + 1.2 s bid, the wing at its new ask."""
    ctx, spread = deciding(NO_SLIPPAGE.model_copy(update={"latency_ms": 1000}))
    short, wing = (leg.instrument for leg in spread.legs)
    out = run(
        ctx,
        ticks(
            (500, short, 1.00, 1.05),
            (500, wing, 0.20, 0.25),
            (1200, short, 1.10, 1.15),
            (1500, wing, 0.30, 0.35),
        ),
    )
    assert [(f.instrument, f.side, cents(f.price)) for f in out.fills] == [
        (short, Side.SELL, 110),
        (wing, Side.BUY, 35),
    ]
    assert {f.ts for f in out.fills} == {T + 1500}
    assert len({f.spread_id for f in out.fills}) == 1
    (held,) = ctx.state.open_spreads
    assert cents(held.entry_net) == -75


def test_a_delayed_spread_meeting_a_crossed_leg_is_rejected_as_one() -> None:
    ctx, spread = deciding(NO_SLIPPAGE.model_copy(update={"latency_ms": 1000}))
    short, wing = (leg.instrument for leg in spread.legs)
    out = run(ctx, ticks((1100, short, 1.10, 1.15), (1100, wing, 0.40, 0.35)))
    assert out.fills == []
    rejected = [e for e in out.order_events if e.status == OrderStatus.REJECTED]
    assert [e.instrument for e in rejected] == [short, wing]
    assert all("crossed quote" in e.reason for e in rejected)
    assert ctx.state.spread_orders == []
    assert ctx.state.book.holdings == {}


LIMIT = NO_SLIPPAGE.model_copy(
    update={"order_type": OrderType.LIMIT, "limit_offset_bps": 0.0, "limit_ttl_seconds": 86_400}
)


def test_a_limit_spread_rests_then_fills_as_one_when_the_net_meets_it() -> None:
    """The net limit is the net mid at the decision (a credit: negative). A net of limit + 0.05
    (less credit) rests; limit - 0.02 fills, each leg at its touch."""
    ctx, spread = deciding(LIMIT)
    short, wing = (leg.instrument for leg in spread.legs)
    (order,) = ctx.state.spread_orders
    assert order.limit is not None
    assert order.limit < 0
    limit = cents(order.limit)
    assert {cents(e.limit_price or 0.0) for e in ctx.out.order_events} == {limit}
    # sell the short at its bid, buy the wing at its ask: net = wing ask - short bid
    out = run(
        ctx,
        ticks(
            (1000, short, 1.00, 1.10),
            (1000, wing, (100 + limit) / 100, (100 + limit + 5) / 100),  # net limit + 0.05
            (2000, wing, (100 + limit - 7) / 100, (100 + limit - 2) / 100),  # net limit - 0.02
        ),
    )
    assert [(f.instrument, cents(f.price)) for f in out.fills] == [
        (short, 100),
        (wing, 100 + limit - 2),
    ]
    assert {f.ts for f in out.fills} == {T + 2000}
    assert [e.status for e in out.order_events if e.order_id == order.orders[0].order_id] == [
        OrderStatus.FILLED
    ]


def test_a_limit_spread_that_never_fills_expires_with_its_day() -> None:
    ctx, spread = deciding(LIMIT)
    short, wing = (leg.instrument for leg in spread.legs)
    out = run(ctx, ticks((1000, short, 0.10, 0.20), (1000, wing, 3.00, 3.10)))
    assert out.fills == []
    assert len(ctx.state.spread_orders) == 1
    day_end = ctx.state.day_end_ms
    assert day_end is not None
    out = run(ctx, ticks((day_end - T + 1000, "NVDA", 100.0, 100.02)))
    expired = [e for e in out.order_events if e.status == OrderStatus.EXPIRED]
    assert [e.instrument for e in expired] == [short, wing]
    assert all("time in force day ran out" in e.reason for e in expired)
    assert {e.ts for e in expired} == {day_end}
    assert [a.kind for a in out.alerts if a.kind == "order_expired"] == ["order_expired"]
    assert ctx.state.spread_orders == []


def test_a_resting_spread_is_cancelled_as_one_by_a_pause_or_an_operator() -> None:
    ctx, _ = deciding(LIMIT)
    leg_id = ctx.state.spread_orders[0].orders[1].order_id
    cancel = ControlCommand(
        command_id="c-1",
        account_id="premium",
        ts=T + 10,
        action="cancel_order",  # type: ignore[arg-type]
        order_id=leg_id,
    )
    out = apply_control(ctx.state, cancel, QUOTED)
    assert [e.status for e in out.order_events] == [OrderStatus.CANCELLED] * 2
    ctx, _ = deciding(LIMIT)
    pause = ControlCommand(
        command_id="p-1",
        account_id="premium",
        ts=T + 10,
        action="pause",  # type: ignore[arg-type]
    )
    out = apply_control(ctx.state, pause, QUOTED)
    assert [e.status for e in out.order_events] == [OrderStatus.CANCELLED] * 2
    assert ctx.state.spread_orders == []
