"""A volatility-premium account that sells spreads (flows.accounts.spreads): every leg opens and
closes at one event time, or none does; the risk rules see the spread's max loss."""

from __future__ import annotations

import pytest

from flows.accounts.context import AccountContext
from flows.accounts.spreads import trade_spread
from flows.accounts.state import AccountParams, Outputs, Quote, new_account
from flows.trading.chain import ChainParams, synthesize_chain
from flows.trading.spreads import Spread, vertical
from schemas.common import Direction, OrderStatus, PremiumSpread, Side
from schemas.config import (
    AlgorithmConfig,
    Costs,
    InstrumentSelection,
    RiskLimits,
    Sizing,
    VolatilityPremium,
)
from tests.flows.trading.books import TS

LATER = TS + 60_000


def config(spread: PremiumSpread = PremiumSpread.VERTICAL, **limits: float) -> AlgorithmConfig:
    return AlgorithmConfig(
        account_id="premium",
        symbols=["NVDA"],
        strategy=VolatilityPremium(),
        selection=InstrumentSelection(
            kind="option", target_delta=0.2, days_to_expiry=7, premium_spread=spread, wing_width=5
        ),
        sizing=Sizing(quantity=2),
        costs=Costs(max_quote_age_ms=2_000),
        limits=RiskLimits(trading_hours=None, **limits),
    )


def quote_market(ctx: AccountContext, ts: int) -> None:
    """NVDA at 100 and every contract of the model's chain quoted at `ts`."""
    ctx.state.quotes["NVDA"] = Quote(ts=ts, bid=99.98, ask=100.02, last=100.0)
    chain = synthesize_chain("NVDA", 100.0, TS, ChainParams())
    for n, name in enumerate(chain.contracts):
        bid, ask = float(chain.bid[n]), float(chain.ask[n])
        ctx.state.quotes[name] = Quote(ts=ts, bid=bid, ask=ask, last=(bid + ask) / 2)


def account(algorithm: AlgorithmConfig | None = None) -> AccountContext:
    ctx = AccountContext(
        new_account(algorithm or config()),
        AccountParams(run_id="test", option_quotes=True),
        Outputs(),
    )
    quote_market(ctx, TS)
    return ctx


def the_vertical() -> Spread:
    spread = vertical(
        synthesize_chain("NVDA", 100.0, TS, ChainParams()), False, 0.2, 7, 5.0, credit=True
    )
    assert spread is not None
    return spread


def trade(ctx: AccountContext, direction: Direction, ts: int, offset: int) -> None:
    trade_spread(ctx, "NVDA", direction, 1.0, ts, (0, offset), f"sig-{offset}")


def test_a_credit_vertical_opens_every_leg_at_one_ts_with_one_spread_id() -> None:
    ctx = account()
    trade(ctx, Direction.SHORT, TS, 1)
    spread = the_vertical()
    fills = ctx.out.fills
    assert [(f.instrument, f.side, f.quantity) for f in fills] == [
        (leg.instrument, leg.side, 2) for leg in spread.legs
    ]
    assert {f.ts for f in fills} == {TS}
    assert len({f.spread_id for f in fills}) == 1
    assert fills[0].spread_id
    assert [d.approved for d in ctx.out.decisions] == [True]
    holdings = ctx.state.book.holdings
    assert {name: h.quantity for name, h in holdings.items()} == {
        spread.legs[0].instrument: -2,
        spread.legs[1].instrument: 2,
    }


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda q: Quote(ts=q.ts, bid=q.ask + 0.05, ask=q.ask, last=q.last), "crossed quote"),
        (lambda q: Quote(ts=q.ts - 5_000, bid=q.bid, ask=q.ask, last=q.last), "stale quote"),
    ],
)
def test_no_leg_opens_when_one_legs_quote_is_crossed_or_stale(spoil, why: str) -> None:  # type: ignore[no-untyped-def]
    ctx = account()
    wing = the_vertical().legs[1].instrument
    ctx.state.quotes[wing] = spoil(ctx.state.quotes[wing])
    trade(ctx, Direction.SHORT, TS, 1)
    assert ctx.out.fills == []
    assert ctx.state.book.holdings == {}
    rejected = [e for e in ctx.out.order_events if e.status == OrderStatus.REJECTED]
    assert len(rejected) == 2
    assert all(why in e.reason for e in rejected)


def test_closing_a_spread_closes_every_leg_together_or_none() -> None:
    """Flat with one leg's quote crossed closes nothing; with it mended, both legs close at one
    ts under one spread id, and the book is flat."""
    ctx = account()
    trade(ctx, Direction.SHORT, TS, 1)
    quote_market(ctx, LATER)
    short = the_vertical().legs[0].instrument
    good = ctx.state.quotes[short]
    ctx.state.quotes[short] = Quote(ts=LATER, bid=good.ask + 0.1, ask=good.ask, last=good.last)
    trade(ctx, Direction.FLAT, LATER, 2)
    assert len(ctx.out.fills) == 2
    assert len(ctx.state.book.holdings) == 2
    ctx.state.quotes[short] = good
    trade(ctx, Direction.FLAT, LATER + 1, 3)
    closing = ctx.out.fills[2:]
    wing = the_vertical().legs[1].instrument
    assert {f.instrument: (f.side, f.quantity) for f in closing} == {
        short: (Side.BUY, 2),
        wing: (Side.SELL, 2),
    }
    assert {f.ts for f in closing} == {LATER + 1}
    assert len({f.spread_id for f in closing}) == 1
    assert closing[0].spread_id != ctx.out.fills[0].spread_id
    assert ctx.state.book.holdings == {}


def test_an_iron_condor_opens_its_four_legs_as_one() -> None:
    ctx = account(config(PremiumSpread.IRON_CONDOR))
    trade(ctx, Direction.SHORT, TS, 1)
    fills = ctx.out.fills
    assert [f.side for f in fills] == [Side.SELL, Side.BUY, Side.SELL, Side.BUY]
    assert {f.ts for f in fills} == {TS}
    assert len({f.spread_id for f in fills}) == 1


def test_the_notional_rules_see_the_spreads_max_loss() -> None:
    """The order notional is (width - credit) x 100 x 2 at the touch: a limit just under it
    rejects the spread, with that as the observed value."""
    spread = the_vertical()
    quotes = account().state.quotes
    short, wing = (quotes[leg.instrument] for leg in spread.legs)
    width = spread.legs[0].strike - spread.legs[1].strike
    notional = (width - (short.bid - wing.ask)) * 100 * 2
    ctx = account(config(max_order_notional=notional - 1.0))
    trade(ctx, Direction.SHORT, TS, 1)
    (decision,) = ctx.out.decisions
    assert decision.rule == "max_order_notional"
    assert decision.observed == pytest.approx(notional)
    assert ctx.out.fills == []
    ctx = account(config(max_order_notional=notional + 1.0))
    trade(ctx, Direction.SHORT, TS, 1)
    assert len(ctx.out.fills) == 2
