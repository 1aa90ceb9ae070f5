"""From a strategy signal to fills: choosing instruments, sizing, the orchestrator, paper fills.

A signal names the position the strategy wants on a symbol (long, short or flat). The account
turns it into legs: first orders that close what points the other way, then one that opens
the new position. Each leg is decided by the orchestrator and, if approved, filled against the
current quote (the underlying's; for an option, its `market.options` quote when option quotes
are fed, else the synthetic chain's). Instruments:

- `selection.kind = underlying`: long buys shares, short sells them short.
- `selection.kind = option`: the contract nearest `target_delta` and `days_to_expiry`.
  With `right = auto`, long buys a call and short buys a put; with an explicit right, long is
  the bullish side of it (buy a call, sell a put) and short the bearish side.
- The volatility-premium strategy sells its option (a put with `right = auto`) when it goes
  short volatility, and buys it back when it goes flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.account_state import (
    AccountParams,
    AccountState,
    Outputs,
    PendingOrder,
    Ticks,
    alert,
)
from flows.chain import (
    Chain,
    atm_vol,
    chains_in,
    contract_terms,
    implied_vol_surface,
    quote_contract,
    quoted_chain,
    synthesize_chain,
)
from flows.ids import make_id
from flows.orchestrator import THROTTLE_WINDOW_MS, OrderIntent, RiskView, Verdict, decide
from flows.paper_broker import (
    commission,
    first_limit_cross,
    limit_fill_price,
    market_fill_price,
    slippage_cost_cents,
)
from flows.portfolio import (
    FillOutcome,
    Holding,
    PositionGreeks,
    apply_fill,
    equity,
    expiring,
    market_value,
    settle_expiry,
)
from flows.pricing import Greeks
from flows.selection import select_option, size_order
from flows.strategies import RawSignal, strategy_name, strategy_step
from schemas.common import AssetClass, Direction, OrderType, Severity, Side
from schemas.config import InstrumentKind, VolatilityPremium
from schemas.trading import Decision, Fill, Order, Signal


@dataclass(frozen=True, slots=True)
class Leg:
    """One order a signal needs, priced and sized (quantity 0 means sizing found none)."""

    instrument: str
    underlying: str
    asset_class: AssetClass
    multiplier: int
    side: Side
    quantity: int
    opens: bool
    bid: float
    ask: float
    mid: float
    delta: float  # per unit held long, shares-equivalent per share of the contract
    vega: float  # per unit held long, per 1.00 of volatility per share
    expiry_ts: int | None = None
    strike: float | None = None
    is_call: bool | None = None

    @property
    def price(self) -> float:
        return self.ask if self.side == Side.BUY else self.bid


# --- signals -----------------------------------------------------------------------------------


def signals_for(
    state: AccountState, ticks: Ticks, params: AccountParams, out: Outputs
) -> list[tuple[int, str, RawSignal]]:
    """Run every symbol's strategy over its ticks; (position in `ticks`, symbol, signal)."""
    events: list[tuple[int, str, RawSignal]] = []
    strategy = state.config.strategy
    for code, symbol in ticks.symbol_of_code.items():
        if symbol not in state.strategies:
            continue  # an option contract's quote: strategies read their underlyings
        rows = np.flatnonzero(ticks.codes == code)
        implied = None
        if isinstance(strategy, VolatilityPremium) and params.option_quotes:
            implied = _quoted_atm_vols(state, ticks, symbol, rows, params)
        elif isinstance(strategy, VolatilityPremium):
            spot = ticks.mid[rows]
            years = state.config.selection.days_to_expiry / 365.0
            implied = implied_vol_surface(symbol, spot, spot, years, params.chain)
        # Strategies read the mid: trade prices bounce between bid and ask, which is noise to
        # an indicator (and inflates realised volatility).
        state.strategies[symbol], raw = strategy_step(
            strategy, state.strategies[symbol], ticks.ts[rows], ticks.mid[rows], implied
        )
        events.extend((int(rows[signal.index]), symbol, signal) for signal in raw)
    events.sort(key=lambda event: event[0])
    return events


def _quoted_atm_vols(
    state: AccountState, ticks: Ticks, symbol: str, rows: np.ndarray, params: AccountParams
) -> np.ndarray:
    """Per tick of `symbol` (`rows`): the at-the-money implied vol, at the selection's days to
    expiry, of the latest quoted chain before it; NaN until the first chain, so nothing trades
    on a vol the market has not quoted."""
    values = np.full(len(rows), state.atm_vols.get(symbol, np.nan))
    own = [
        code
        for code, name in ticks.symbol_of_code.items()
        if (terms := contract_terms(name)) is not None and terms[0] == symbol
    ]
    if not own:
        return values
    quote_rows = np.flatnonzero(np.isin(ticks.codes, own))
    names = [ticks.symbol_of_code[c] for c in ticks.codes[quote_rows].tolist()]
    columns = (ticks.ts, ticks.bid, ticks.ask, ticks.mid)
    known = state.quotes.get(symbol)  # signals run before any of the segment's ticks land
    before = known.mid if known is not None else None
    for chain_rows, chain in chains_in(
        symbol, quote_rows, names, rows, columns, before, params.chain
    ):
        vol = atm_vol(chain, state.config.selection.days_to_expiry)
        if np.isfinite(vol):
            values[rows > chain_rows[-1]] = vol
            state.atm_vols[symbol] = vol
    return values


def execute_signal(
    state: AccountState,
    ticks: Ticks,
    p: int,
    symbol: str,
    raw: RawSignal,
    params: AccountParams,
    out: Outputs,
) -> None:
    ts = int(ticks.ts[p])
    source = (int(ticks.partition[p]), int(ticks.offsets[p]))
    config = state.config
    signal_id = make_id(params.run_id, state.account_id, "sig", *source)
    out.signals.append(
        Signal(
            signal_id=signal_id,
            run_id=params.run_id,
            account_id=state.account_id,
            ts=ts,
            symbol=symbol,
            strategy=strategy_name(config.strategy),
            direction=raw.direction,
            strength=min(max(raw.strength, 0.0), 1.0),
            price=float(ticks.mid[p]),
            reason=raw.reason[:1000],
            indicators=raw.indicators,
            config_version=config.version,
        )
    )
    for leg_number, leg in enumerate(_legs(state, symbol, raw.direction, ts, params)):
        ids = (params.run_id, state.account_id, *source, leg_number)
        _decide_and_fill(state, leg, raw.strength, ts, signal_id, ids, params, out)


def _exposure(holding: Holding) -> int:
    """+1 if the holding gains when the underlying rises, -1 if it loses."""
    bullish = holding.is_call is None or holding.is_call
    return (1 if holding.quantity > 0 else -1) * (1 if bullish else -1)


def _legs(
    state: AccountState, symbol: str, direction: Direction, ts: int, params: AccountParams
) -> list[Leg]:
    config = state.config
    premium = isinstance(config.strategy, VolatilityPremium)
    held = [(name, h) for name, h in sorted(state.book.holdings.items()) if h.underlying == symbol]
    legs: list[Leg] = []
    if premium:
        closing = held if direction == Direction.FLAT else []
    elif direction == Direction.FLAT:
        closing = held
    else:
        wanted = 1 if direction == Direction.LONG else -1
        closing = [(name, h) for name, h in held if _exposure(h) != wanted]
    for _, holding in closing:
        legs.append(_closing_leg(state, holding, ts, params))
    if direction != Direction.FLAT:
        opening = _opening_leg(state, symbol, direction, ts, params)
        if opening is not None:
            legs.append(opening)
    return legs


def _closing_leg(state: AccountState, holding: Holding, ts: int, params: AccountParams) -> Leg:
    side = Side.SELL if holding.quantity > 0 else Side.BUY
    quote = state.quotes[holding.underlying]
    if holding.expiry_ts is None:
        return Leg(
            instrument=holding.instrument,
            underlying=holding.underlying,
            asset_class=holding.asset_class,
            multiplier=holding.multiplier,
            side=side,
            quantity=abs(holding.quantity),
            opens=False,
            bid=quote.bid,
            ask=quote.ask,
            mid=quote.mid,
            delta=1.0,
            vega=0.0,
        )
    bid, ask, mid, greeks = contract_quote(state, holding, ts, params)
    return Leg(
        instrument=holding.instrument,
        underlying=holding.underlying,
        asset_class=holding.asset_class,
        multiplier=holding.multiplier,
        side=side,
        quantity=abs(holding.quantity),
        opens=False,
        bid=bid,
        ask=ask,
        mid=mid,
        delta=float(greeks.delta),
        vega=float(greeks.vega),
        expiry_ts=holding.expiry_ts,
        strike=holding.strike,
        is_call=holding.is_call,
    )


def _opening_leg(
    state: AccountState, symbol: str, direction: Direction, ts: int, params: AccountParams
) -> Leg | None:
    config = state.config
    quote = state.quotes[symbol]
    bullish = direction == Direction.LONG
    if config.selection.kind == InstrumentKind.UNDERLYING and not isinstance(
        config.strategy, VolatilityPremium
    ):
        side = Side.BUY if bullish else Side.SELL
        price = quote.ask if bullish else quote.bid
        return Leg(
            instrument=symbol,
            underlying=symbol,
            asset_class=AssetClass.EQUITY,
            multiplier=1,
            side=side,
            quantity=size_order(config.sizing, price, 1, state.equity),
            opens=True,
            bid=quote.bid,
            ask=quote.ask,
            mid=quote.mid,
            delta=1.0,
            vega=0.0,
        )
    right = config.selection.right
    if isinstance(config.strategy, VolatilityPremium):
        is_call, side = right == "call", Side.SELL
    elif right == "auto":
        is_call, side = bullish, Side.BUY
    else:
        is_call = right == "call"
        side = Side.BUY if bullish == is_call else Side.SELL
    if params.option_quotes:
        chain = _quoted_chain(state, symbol, ts, params)
    else:
        chain = synthesize_chain(symbol, quote.mid, ts, params.chain)
    index = select_option(
        chain,
        is_call,
        config.selection.target_delta,
        config.selection.days_to_expiry,
        side=side,
    )
    if index is None:
        return None
    price = float(chain.ask[index] if side == Side.BUY else chain.bid[index])
    return Leg(
        instrument=chain.contracts[index],
        underlying=symbol,
        asset_class=AssetClass.OPTION,
        multiplier=100,
        side=side,
        quantity=size_order(config.sizing, price, 100, state.equity),
        opens=True,
        bid=float(chain.bid[index]),
        ask=float(chain.ask[index]),
        mid=float(chain.price[index]),
        delta=float(chain.delta[index]),
        vega=float(chain.vega[index]),
        expiry_ts=int(chain.expiry_ts[index]),
        strike=float(chain.strike[index]),
        is_call=bool(chain.is_call[index]),
    )


def _quoted_chain(state: AccountState, symbol: str, ts: int, params: AccountParams) -> Chain:
    """The symbol's contracts with a quote at most `option_quote_max_age_ms` old, priced."""
    oldest = ts - params.option_quote_max_age_ms
    fresh = [
        (name, quote)
        for name, quote in state.quotes.items()
        if quote.ts >= oldest and (terms := contract_terms(name)) is not None and terms[0] == symbol
    ]
    return quoted_chain(
        symbol,
        state.quotes[symbol].mid,
        ts,
        [name for name, _ in fresh],
        [quote.bid for _, quote in fresh],
        [quote.ask for _, quote in fresh],
        params.chain,
    )


def contract_quote(
    state: AccountState, holding: Holding, ts: int, params: AccountParams
) -> tuple[float, float, float, Greeks]:
    """A held contract's (bid, ask, mid, Greeks): its latest market quote when option quotes are
    fed and it has one (whatever its age: it is what the position can trade at), else the
    model's."""
    assert holding.expiry_ts is not None
    assert holding.strike is not None and holding.is_call is not None
    spot = state.quotes[holding.underlying].mid
    quote = state.quotes.get(holding.instrument) if params.option_quotes else None
    if quote is not None and holding.expiry_ts > ts:
        chain = quoted_chain(
            holding.underlying,
            spot,
            ts,
            [holding.instrument],
            [quote.bid],
            [quote.ask],
            params.chain,
        )
        greeks = Greeks(*(getattr(chain, name)[0] for name in Greeks._fields))
        return quote.bid, quote.ask, quote.mid, greeks
    return quote_contract(
        holding.underlying,
        spot,
        ts,
        holding.expiry_ts,
        holding.strike,
        holding.is_call,
        params.chain,
    )


# --- the orchestrator's view and verdict ------------------------------------------------------


def position_greeks(state: AccountState, params: AccountParams) -> dict[str, PositionGreeks]:
    """Each holding's Greeks in currency terms at the latest quotes (shares for delta)."""
    result: dict[str, PositionGreeks] = {}
    for name, holding in state.book.holdings.items():
        if holding.expiry_ts is None:
            result[name] = PositionGreeks(delta=float(holding.quantity))
            continue
        _, _, _, greeks = contract_quote(state, holding, max(state.clock, 0), params)
        units = holding.quantity * holding.multiplier
        result[name] = PositionGreeks(
            delta=float(greeks.delta) * units,
            gamma=float(greeks.gamma) * units,
            vega=float(greeks.vega) * units,
            theta=float(greeks.theta) * units,
        )
    return result


def _view(state: AccountState, leg: Leg, params: AccountParams) -> RiskView:
    greeks = position_greeks(state, params)
    on_symbol = [h for h in state.book.holdings.values() if h.underlying == leg.underlying]
    held = state.book.holdings.get(leg.instrument)
    direction = 1 if leg.side == Side.BUY else -1
    opening_exposure = direction * (1 if leg.is_call is None or leg.is_call else -1)
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
        holds_same_direction=any(_exposure(h) == opening_exposure for h in on_symbol)
        if leg.opens
        else False,
    )


def _decide_and_fill(
    state: AccountState,
    leg: Leg,
    strength: float,
    ts: int,
    signal_id: str,
    ids: tuple[object, ...],
    params: AccountParams,
    out: Outputs,
) -> None:
    units = leg.quantity * leg.multiplier * (1 if leg.side == Side.BUY else -1)
    intent = OrderIntent(
        ts=ts,
        symbol=leg.underlying,
        instrument=leg.instrument,
        side=leg.side,
        quantity=max(leg.quantity, 1),
        price=leg.price,
        multiplier=leg.multiplier,
        strength=min(max(strength, 0.0), 1.0),
        opens=leg.opens,
        delta=units * leg.delta,
        vega=units * leg.vega,
    )
    if leg.quantity == 0:
        verdict = Verdict(
            approved=False,
            rule="position_size",
            observed=0.0,
            limit=1.0,
            reason=f"sizing gives 0 units of {leg.instrument} at {leg.price:,.2f}",
        )
    else:
        verdict = decide(_view(state, leg, params), intent, state.config.limits)
    decision_id = make_id(*ids[:2], "dec", *ids[2:])
    out.decisions.append(
        Decision(
            decision_id=decision_id,
            signal_id=signal_id,
            run_id=params.run_id,
            account_id=state.account_id,
            ts=ts,
            symbol=leg.underlying,
            instrument=leg.instrument,
            side=leg.side,
            quantity=leg.quantity,
            price=leg.price,
            approved=verdict.approved,
            rule=verdict.rule,
            observed=verdict.observed,
            limit=verdict.limit,
            reason=verdict.reason[:1000],
            config_version=state.config.version,
        )
    )
    if not verdict.approved:
        return
    if state.config.limits.max_orders_per_minute is not None:
        state.recent_orders.append(ts)  # kept only for the throttle, which is all that reads it
    if leg.opens:
        state.last_entry_ts[leg.underlying] = ts
    order_id = make_id(*ids[:2], "ord", *ids[2:])
    costs = state.config.costs
    if leg.opens and leg.asset_class == AssetClass.EQUITY and costs.order_type == OrderType.LIMIT:
        offset = leg.mid * costs.limit_offset_bps / 10_000
        raw_limit = leg.mid - offset if leg.side == Side.BUY else leg.mid + offset
        limit = max(round(raw_limit / costs.tick_size) * costs.tick_size, costs.tick_size)
        order = _order(state, leg, ts, order_id, decision_id, params, OrderType.LIMIT, limit)
        state.pending.append(PendingOrder(order, ts + costs.limit_ttl_seconds * 1000))
        return
    price = market_fill_price(leg.side, leg.bid, leg.ask, costs)
    _book_fill(
        state,
        leg,
        ts,
        price,
        commission(leg.asset_class, leg.quantity, costs),
        fill_id=make_id(*ids[:2], "fill", *ids[2:]),
        order_id=order_id,
        reason="signal",
        params=params,
        out=out,
    )


def _order(
    state: AccountState,
    leg: Leg,
    ts: int,
    order_id: str,
    decision_id: str,
    params: AccountParams,
    kind: OrderType,
    limit_price: float | None,
) -> Order:
    return Order(
        order_id=order_id,
        decision_id=decision_id,
        run_id=params.run_id,
        account_id=state.account_id,
        ts=ts,
        instrument=leg.instrument,
        underlying=leg.underlying,
        asset_class=leg.asset_class,
        side=leg.side,
        quantity=leg.quantity,
        order_type=kind,
        limit_price=limit_price,
    )


def _book_fill(
    state: AccountState,
    leg: Leg,
    ts: int,
    price: float,
    commission_cents: int,
    *,
    fill_id: str,
    order_id: str,
    reason: str,
    params: AccountParams,
    out: Outputs,
) -> FillOutcome:
    outcome = apply_fill(
        state.book,
        ts=ts,
        instrument=leg.instrument,
        underlying=leg.underlying,
        asset_class=leg.asset_class,
        multiplier=leg.multiplier,
        side=leg.side,
        quantity=leg.quantity,
        price=price,
        commission_cents=commission_cents,
        expiry_ts=leg.expiry_ts,
        strike=leg.strike,
        is_call=leg.is_call,
    )
    slippage = slippage_cost_cents(
        leg.side, leg.bid, leg.ask, outcome.price, leg.quantity, leg.multiplier
    )
    _record_fill(
        state,
        params,
        out,
        Fill(
            fill_id=fill_id,
            order_id=order_id,
            run_id=params.run_id,
            account_id=state.account_id,
            ts=ts,
            instrument=leg.instrument,
            underlying=leg.underlying,
            asset_class=leg.asset_class,
            side=leg.side,
            quantity=leg.quantity,
            price=outcome.price,
            multiplier=leg.multiplier,
            commission=commission_cents / 100,
            slippage=slippage / 100,
            realised_pnl=outcome.net_realised_cents / 100,
            reason=reason,
        ),
        outcome,
        mark=leg.mid,
    )
    return outcome


# --- resting orders and expiries --------------------------------------------------------------


def next_limit_cross(state: AccountState, ticks: Ticks, cursor: int) -> tuple[int, int | None]:
    """The first tick at or after `cursor` where a resting limit order fills, and which order."""
    best, which = len(ticks), None
    if not state.pending:
        return best, which
    code_of = {symbol: code for code, symbol in ticks.symbol_of_code.items()}
    for index, pending in enumerate(state.pending):
        order = pending.order
        code = code_of.get(order.instrument)
        if code is None or order.limit_price is None:
            continue
        rows = cursor + np.flatnonzero(ticks.codes[cursor:] == code)
        rows = rows[ticks.ts[rows] < pending.expires_ts]
        hit = first_limit_cross(order.side, order.limit_price, ticks.bid[rows], ticks.ask[rows])
        if hit is not None and int(rows[hit]) < best:
            best, which = int(rows[hit]), index
    return best, which


def fill_limit_order(
    state: AccountState, ticks: Ticks, p: int, index: int, params: AccountParams, out: Outputs
) -> None:
    pending = state.pending.pop(index)
    order = pending.order
    assert order.limit_price is not None
    bid, ask = float(ticks.bid[p]), float(ticks.ask[p])
    price = limit_fill_price(order.side, order.limit_price, bid, ask)
    assert price is not None, "next_limit_cross chose a tick that does not cross"
    leg = Leg(
        instrument=order.instrument,
        underlying=order.underlying,
        asset_class=order.asset_class,
        multiplier=1,
        side=order.side,
        quantity=order.quantity,
        opens=True,
        bid=bid,
        ask=ask,
        mid=(bid + ask) * 0.5,
        delta=1.0,
        vega=0.0,
    )
    _book_fill(
        state,
        leg,
        int(ticks.ts[p]),
        price,
        commission(order.asset_class, order.quantity, state.config.costs),
        fill_id=make_id(order.order_id, "fill"),
        order_id=order.order_id,
        reason="limit",
        params=params,
        out=out,
    )


def expire_limit_orders(state: AccountState, at: int, params: AccountParams, out: Outputs) -> None:
    for pending in [p for p in state.pending if p.expires_ts <= at]:
        state.pending.remove(pending)
        order = pending.order
        alert(
            state,
            params,
            out,
            ts=at,
            kind="order_expired",
            severity=Severity.INFO,
            message=f"limit order {order.order_id} ({order.side.value} {order.quantity} "
            f"{order.instrument} at {order.limit_price}) expired unfilled",
            key=order.order_id,
        )


def settle_expiries(state: AccountState, at: int, params: AccountParams, out: Outputs) -> None:
    """Options expiring at `at` settle at intrinsic value against the underlying's last mid."""
    for instrument in expiring(state.book, at):
        holding = state.book.holdings[instrument]
        spot = state.quotes[holding.underlying].mid
        side = Side.SELL if holding.quantity > 0 else Side.BUY
        quantity = abs(holding.quantity)
        outcome = settle_expiry(state.book, instrument, spot, at)
        order_id = make_id(params.run_id, state.account_id, "exp", instrument, at)
        fill = Fill(
            fill_id=make_id(order_id, "fill"),
            order_id=order_id,
            run_id=params.run_id,
            account_id=state.account_id,
            ts=at,
            instrument=instrument,
            underlying=holding.underlying,
            asset_class=holding.asset_class,
            side=side,
            quantity=quantity,
            price=outcome.price,
            multiplier=holding.multiplier,
            commission=0.0,
            slippage=0.0,
            realised_pnl=outcome.net_realised_cents / 100,
            reason="expiry",
        )
        _record_fill(state, params, out, fill, outcome, mark=None)


def _record_fill(
    state: AccountState,
    params: AccountParams,
    out: Outputs,
    fill: Fill,
    outcome: FillOutcome,
    mark: float | None,
) -> None:
    """Emit a booked fill and bring the day's trades, the marks and the equity up to date.

    `mark` is the instrument's mark if a position remains (None when it was settled away).
    """
    out.fills.append(fill)
    for trade in outcome.trades:
        state.day.record_trade(trade.pnl_cents, trade.commissions_cents)
    state.book.closed_trades.clear()  # the day tracker has them; the fills table keeps them all
    if fill.instrument in state.book.holdings and mark is not None:
        state.marks[fill.instrument] = mark
    else:
        state.marks.pop(fill.instrument, None)
    state.equity = equity(state.book, state.marks)
