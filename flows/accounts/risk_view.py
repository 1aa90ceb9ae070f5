"""What the orchestrator sees of an account when it decides a leg, and the positions' Greeks."""

from __future__ import annotations

from collections.abc import Sequence

from flows.accounts.chains import contract_quote
from flows.accounts.context import AccountContext
from flows.accounts.guards import active_locks
from flows.accounts.legs import Leg, holding_exposure
from flows.accounts.scenarios import scenario_book
from flows.trading.orchestrator import THROTTLE_WINDOW_MS, RiskView
from flows.trading.snapshots import PositionGreeks
from flows.trading.valuation import market_value


def position_greeks(ctx: AccountContext) -> dict[str, PositionGreeks]:
    """Each holding's Greeks in currency terms at the latest quotes (shares for delta)."""
    state = ctx.state
    result: dict[str, PositionGreeks] = {}
    for name, holding in state.book.holdings.items():
        if holding.expiry_ts is None:
            result[name] = PositionGreeks(delta=float(holding.quantity))
            continue
        _, _, _, greeks = contract_quote(ctx, holding, max(state.clock, 0))
        units = holding.quantity * holding.multiplier
        result[name] = PositionGreeks(
            delta=float(greeks.delta) * units,
            gamma=float(greeks.gamma) * units,
            vega=float(greeks.vega) * units,
            theta=float(greeks.theta) * units,
        )
    return result


def risk_view(ctx: AccountContext, leg: Leg, spread_legs: Sequence[Leg] = ()) -> RiskView:
    """The account as the rules read it before `leg`; drops throttle times older than a minute
    and lifted locks. The scenario book (the holdings plus `leg`, or plus every leg of a spread
    whose `leg` is the first) only when the rule is on."""
    state = ctx.state
    greeks = position_greeks(ctx)
    on_symbol = [h for h in state.book.holdings.values() if h.underlying == leg.underlying]
    held = state.book.holdings.get(leg.instrument)
    opening_exposure = leg.exposure
    recent = state.recent_orders
    while recent and recent[0] <= state.clock - THROTTLE_WINDOW_MS:
        recent.popleft()
    return RiskView(
        status=state.status,
        open_positions=len(state.book.holdings),
        instrument_quantity=abs(held.quantity) if held else 0,
        symbol_quantity=sum(abs(h.quantity) for h in on_symbol),
        symbol_notional=sum(
            abs(market_value(h, state.marks.get(h.instrument, 0.0))) for h in on_symbol
        ),
        net_delta=sum(g.delta for g in greeks.values()),
        net_vega=sum(g.vega for g in greeks.values()),
        equity=state.equity,
        day_start_equity=state.day.start_equity,
        peak_equity=state.peak_equity,
        last_entry_ts=state.last_entry_ts.get(leg.underlying),
        recent_order_ts=tuple(state.recent_orders),
        holds_same_direction=any(holding_exposure(h) == opening_exposure for h in on_symbol)
        if leg.opens
        else False,
        locks=active_locks(ctx, leg.underlying, state.clock) if state.guard_locks else (),
        scenario=scenario_book(ctx, state.clock, spread_legs or (leg,))
        if leg.opens and state.config.limits.max_scenario_loss is not None
        else None,
    )
