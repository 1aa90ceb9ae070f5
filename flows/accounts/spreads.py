"""A premium-selling account's spreads: opened and closed as one order, all legs or none.

With `selection.premium_spread` set (vertical or iron_condor), the volatility-premium strategy
sells a defined-risk spread instead of a naked option (flows.trading.spreads builds it from the
chain): going short sells a credit vertical (a put one with `right` put or auto, a call one with
`right` call) or an iron condor, each wing `wing_width` further out of the money; going flat
closes every option held on the symbol as one spread.

One decision covers the whole spread. The orchestrator reads it as one order whose price is
the spread's max loss per share (width - credit, at the touch), so the notional rules see the
defined risk (max loss x 100 x quantity), not the premium; delta and vega are the legs' sums and
the scenario rule revalues the book with every leg added. Sizing reads the same max loss.

At market and without a latency, the legs fill at the decision's event time against their
quotes (each at its touch plus slippage, with its own commission) or none does: every leg's
order is rejected when any leg's quote is crossed, stale, locked with sizes, or quotes less
than the leg needs (flows.trading.spreads.fill_spread). The fills share one time and a
`spread_id`. With option quotes fed, `costs.latency_ms` delays the spread and `order_type =
limit` rests an opening one at a net limit (flows.accounts.spread_orders); on the synthetic
chain, which has no later quotes to work against, a spread fills when decided, as a single
option does. An opening spread's fill places its exits; a closing signal cancels them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import reduce

from flows.accounts.chains import chain_for, closing_leg
from flows.accounts.context import AccountContext
from flows.accounts.legs import OPTION_MULTIPLIER, Leg
from flows.accounts.resting import order_for
from flows.accounts.risk_view import risk_view
from flows.accounts.spread_orders import (
    book_spread,
    cancel_symbol_exits,
    describe,
    end_spread,
    place_spread,
    quotes_now,
    rests,
)
from flows.trading.ids import make_id
from flows.trading.orchestrator import OrderIntent, Verdict, decide
from flows.trading.portfolio import Holding
from flows.trading.selection import size_order
from flows.trading.spread_orders import RestingSpread, spread_limit_price, work_spread
from flows.trading.spreads import (
    LegQuote,
    Spread,
    SpreadLeg,
    combined_quote,
    iron_condor,
    max_loss,
    vertical,
)
from flows.trading.strategies import strategy_spec
from schemas.common import Direction, OrderStatus, OrderType, PremiumSpread
from schemas.config import AlgorithmConfig


def sells_spreads(config: AlgorithmConfig) -> bool:
    """Whether the account's premium selling is done in spreads."""
    return (
        strategy_spec(config.strategy).sells_premium
        and config.selection.premium_spread != PremiumSpread.NAKED
    )


def trade_spread(
    ctx: AccountContext,
    symbol: str,
    direction: Direction,
    strength: float,
    ts: int,
    source: tuple[int, int],
    signal_id: str,
) -> None:
    """Flat closes the symbol's options as one spread; short opens a new spread."""
    if direction == Direction.FLAT:
        held = [
            h
            for _, h in sorted(ctx.state.book.holdings.items())
            if h.underlying == symbol and h.expiry_ts is not None
        ]
        if held:
            spread, legs = _closing(ctx, held, ts)
            _decide_and_fill(ctx, spread, legs, strength, ts, source, signal_id)
        return
    opening = _opening(ctx, symbol, ts)
    if opening is not None:
        _decide_and_fill(ctx, *opening, strength, ts, source, signal_id)


def _opening(ctx: AccountContext, symbol: str, ts: int) -> tuple[Spread, list[Leg]] | None:
    """The spread to sell and its legs, sized by its max loss per share at the touch."""
    config = ctx.state.config
    selection = config.selection
    chain = chain_for(ctx, symbol, ts)
    if selection.premium_spread == PremiumSpread.IRON_CONDOR:
        spread = iron_condor(
            chain, selection.target_delta, selection.days_to_expiry, selection.wing_width
        )
    else:
        is_call = selection.right == "call"
        spread = vertical(
            chain,
            is_call,
            selection.target_delta,
            selection.days_to_expiry,
            selection.wing_width,
            credit=True,
        )
    if spread is None:
        return None
    quotes = [
        LegQuote(float(chain.bid[leg.row]), float(chain.ask[leg.row]), ts) for leg in spread.legs
    ]
    risk = max_loss(spread, combined_quote(spread, quotes).ask)
    assert risk is not None  # credit verticals and iron condors are defined-risk
    units = size_order(config.sizing, risk, OPTION_MULTIPLIER, ctx.state.equity)
    legs = [Leg.option_opening(chain, leg.row, leg.side, units * leg.ratio) for leg in spread.legs]
    return spread, legs


def _closing(ctx: AccountContext, held: list[Holding], ts: int) -> tuple[Spread, list[Leg]]:
    """The order that closes every holding in `held` at once: units are the quantities'
    greatest common divisor, each leg's ratio its share of them (1:1 for the spreads opened
    here)."""
    units = reduce(math.gcd, (abs(h.quantity) for h in held))
    legs: list[Leg] = []
    spread_legs: list[SpreadLeg] = []
    for holding in held:
        leg = closing_leg(ctx, holding, ts)
        assert holding.expiry_ts is not None
        assert holding.strike is not None and holding.is_call is not None
        legs.append(leg)
        spread_legs.append(
            SpreadLeg(
                instrument=holding.instrument,
                side=leg.side,
                ratio=abs(holding.quantity) // units,
                strike=holding.strike,
                is_call=holding.is_call,
                expiry_ts=holding.expiry_ts,
            )
        )
    return Spread("closing", held[0].underlying, tuple(spread_legs)), legs


def _units(spread: Spread, legs: list[Leg]) -> int:
    return legs[0].quantity // spread.legs[0].ratio


def _verdict(
    ctx: AccountContext, spread: Spread, legs: list[Leg], strength: float, ts: int
) -> Verdict:
    """The orchestrator's rules on the spread as one order (see the module docstring)."""
    units = _units(spread, legs)
    first = legs[0]
    quote = combined_quote(spread, quotes_now(ctx, legs, ts))
    opens = first.opens
    risk = max_loss(spread, quote.ask) if opens else abs(quote.ask)
    if opens and units == 0:
        why = f"sizing gives 0 {spread.kind} spreads at a max loss of {risk or 0:,.2f}"
        return Verdict.sized_out(why)
    intents = [leg.intent(ts, strength) for leg in legs]
    intent = OrderIntent(
        ts=ts,
        symbol=first.underlying,
        instrument=first.instrument,
        side=first.side,
        quantity=max(units, 1),
        price=risk or 0.0,
        multiplier=OPTION_MULTIPLIER,
        strength=min(max(strength, 0.0), 1.0),
        opens=opens,
        delta=sum(i.delta for i in intents),
        vega=sum(i.vega for i in intents),
    )
    return decide(risk_view(ctx, first, legs), intent, ctx.state.config.limits)


def _decide_and_fill(
    ctx: AccountContext,
    spread: Spread,
    legs: list[Leg],
    strength: float,
    ts: int,
    source: tuple[int, int],
    signal_id: str,
) -> None:
    """Decide the spread once and, if approved, fill every leg now or reject them all; or, with
    a latency or a limit and the legs' own quotes, rest it (flows.accounts.spread_orders)."""
    state = ctx.state
    verdict = _verdict(ctx, spread, legs, strength, ts)
    units = _units(spread, legs)
    decision_id = make_id(ctx.run_id, ctx.account_id, "dec", *source, 0)
    shown = replace(verdict, reason=f"{verdict.reason}; {describe(spread, units)}")
    ctx.emit_decision(decision_id, signal_id, ts, replace(legs[0], quantity=units), shown)
    if not verdict.approved:
        return
    if state.config.limits.max_orders_per_minute is not None:
        state.recent_orders.append(ts)
    opens = legs[0].opens
    if opens:
        state.last_entry_ts[legs[0].underlying] = ts
    else:
        cancel_symbol_exits(ctx, spread.underlying, ts, "the position is closed by a signal")
    order = _spread_order(ctx, spread, legs, units, ts, source, decision_id)
    if order.order_type == OrderType.LIMIT or order.active_ts > ts:
        place_spread(ctx, order, ts)
        return
    for leg_order in order.orders:
        ctx.emit_order_event(leg_order, ts)
    outcome = work_spread(order, quotes_now(ctx, legs, ts), ts, state.config.costs)
    if outcome.fill is None:
        end_spread(ctx, order, OrderStatus.REJECTED, ts, outcome.reason)
        return
    book_spread(ctx, order, legs, outcome.fill)


def _spread_order(
    ctx: AccountContext,
    spread: Spread,
    legs: list[Leg],
    units: int,
    ts: int,
    source: tuple[int, int],
    decision_id: str,
) -> RestingSpread:
    """The approved spread as an order: a limit (an opening one only) or a market order, which
    reaches the market after the latency; both only when every leg has its own quotes, else a
    market order now (the synthetic chain has no later quotes to work against)."""
    costs = ctx.state.config.costs
    resting = rests(ctx, spread)
    limit = None
    if resting and legs[0].opens and costs.order_type == OrderType.LIMIT:
        limit = spread_limit_price(quotes_now(ctx, legs, ts), spread, costs)
    kind = OrderType.MARKET if limit is None else OrderType.LIMIT
    orders = [
        order_for(
            ctx,
            leg,
            make_id(ctx.run_id, ctx.account_id, "ord", *source, n),
            ts,
            kind,
            decision_id=decision_id,
            limit_price=limit,
        )
        for n, leg in enumerate(legs)
    ]
    return RestingSpread(
        spread_id=make_id(ctx.run_id, ctx.account_id, "spread", *source),
        spread=spread,
        units=units,
        order_type=kind,
        time_in_force=orders[0].time_in_force,
        purpose=orders[0].purpose,
        active_ts=orders[0].active_ts if resting else ts,
        expires_ts=orders[0].expires_ts,
        orders=orders,
        limit=limit,
    )
