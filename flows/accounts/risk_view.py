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
    and lifted locks.

    Only what a rule that will run reads is worked out, since this is done for every leg: an
    order that only reduces exposure meets the state, hours and throttle rules alone, so its
    position figures are left at 0; an opening order's net Greeks, quantity and notional on the
    symbol only when their limit is on (else 0), and its scenario book (the holdings plus `leg`,
    or plus every leg of a spread whose `leg` is the first) only when that rule is on.
    """
    state = ctx.state
    limits = state.config.limits
    book = state.book
    held = book.holdings.get(leg.instrument)
    recent = state.recent_orders
    while recent and recent[0] <= state.clock - THROTTLE_WINDOW_MS:
        recent.popleft()
    symbol_quantity, symbol_notional, net_delta, net_vega = 0, 0.0, 0.0, 0.0
    holds_same_direction = False
    if leg.opens:
        on_symbol = [h for h in book.holdings.values() if h.underlying == leg.underlying]
        if limits.max_symbol_quantity is not None:
            symbol_quantity = sum(abs(h.quantity) for h in on_symbol)
        if limits.max_symbol_notional is not None:
            symbol_notional = sum(
                abs(market_value(h, state.marks.get(h.instrument, 0.0))) for h in on_symbol
            )
        if limits.max_abs_delta is not None or limits.max_abs_vega is not None:
            greeks = position_greeks(ctx)
            net_delta = sum(g.delta for g in greeks.values())
            net_vega = sum(g.vega for g in greeks.values())
        exposure = leg.exposure
        holds_same_direction = any(holding_exposure(h) == exposure for h in on_symbol)
    return RiskView(
        status=state.status,
        open_positions=len(book.holdings),
        instrument_quantity=abs(held.quantity) if held else 0,
        symbol_quantity=symbol_quantity,
        symbol_notional=symbol_notional,
        net_delta=net_delta,
        net_vega=net_vega,
        equity=state.equity,
        day_start_equity=state.day.start_equity,
        peak_equity=state.peak_equity,
        last_entry_ts=state.last_entry_ts.get(leg.underlying),
        recent_order_ts=tuple(recent),
        holds_same_direction=holds_same_direction,
        locks=active_locks(ctx, leg.underlying, state.clock) if state.guard_locks else (),
        scenario=scenario_book(ctx, state.clock, spread_legs or (leg,))
        if leg.opens and limits.max_scenario_loss is not None
        else None,
    )
