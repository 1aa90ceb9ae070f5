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
  short volatility, and buys it back when it goes flat; with `selection.premium_spread` it
  sells a defined-risk spread instead, opened and closed as one (flows.accounts.spreads).

An approved equity opening with `costs.order_type = limit` rests as a limit order instead of
filling: it fills at the first quote that crosses it, or expires after `limit_ttl_seconds` (or
with the day, by its time in force). With `costs.latency_ms`, a market order on an instrument
whose ticks the account sees rests until it reaches the market and fills at the quote of that
moment (flows.accounts.resting). A bar file replayed with `--fill next-open` does the same
without a latency: such an order waits for its instrument's next quote, the next bar's open,
and does not end with the day. An entry's fill places its bracket (flows.accounts.exits); a
signal's exit cancels it.
"""

from __future__ import annotations

from flows.accounts.chains import chain_for, closing_leg
from flows.accounts.context import AccountContext
from flows.accounts.legs import OPTION_MULTIPLIER, Leg, holding_exposure
from flows.accounts.resting import (
    cancel_exits,
    cancel_group,
    fill_now,
    has_own_quotes,
    order_for,
    place,
)
from flows.accounts.risk_view import risk_view
from flows.accounts.spreads import sells_spreads, trade_spread
from flows.accounts.ticks import Ticks
from flows.trading.ids import make_id
from flows.trading.orchestrator import Verdict, decide
from flows.trading.selection import select_option, size_order
from flows.trading.strategies import RawSignal, strategy_spec
from schemas.common import AssetClass, Direction, OrderType, Side, TimeInForce
from schemas.config import Costs, InstrumentKind

# --- a signal's legs ---------------------------------------------------------------------------


def execute_signal(ctx: AccountContext, ticks: Ticks, p: int, symbol: str, raw: RawSignal) -> None:
    """Emit the signal at tick `p`, then decide and fill each of its legs in order."""
    ts = int(ticks.ts[p])
    source = (int(ticks.partition[p]), int(ticks.offsets[p]))
    signal_id = ctx.row_id("sig", f"{source[0]}:{source[1]}")
    ctx.emit_signal(signal_id, ts, symbol, raw, float(ticks.mid[p]))
    if sells_spreads(ctx.state.config):
        trade_spread(ctx, symbol, raw.direction, raw.strength, ts, source, signal_id)
        return
    for leg_number, leg in enumerate(_legs(ctx, symbol, raw.direction, ts)):
        key = f"{source[0]}:{source[1]}:{leg_number}"
        _decide_and_fill(ctx, leg, raw.strength, ts, signal_id, key)


def _legs(ctx: AccountContext, symbol: str, direction: Direction, ts: int) -> list[Leg]:
    state = ctx.state
    premium = strategy_spec(state.config.strategy).sells_premium
    held = [(name, h) for name, h in sorted(state.book.holdings.items()) if h.underlying == symbol]
    legs: list[Leg] = []
    if premium:
        closing = held if direction == Direction.FLAT else []
    elif direction == Direction.FLAT:
        closing = held
    else:
        wanted = 1 if direction == Direction.LONG else -1
        closing = [(name, h) for name, h in held if holding_exposure(h) != wanted]
    for _, holding in closing:
        legs.append(closing_leg(ctx, holding, ts))
    if direction != Direction.FLAT:
        opening = _opening_leg(ctx, symbol, direction, ts)
        if opening is not None:
            legs.append(opening)
    return legs


def _opening_leg(ctx: AccountContext, symbol: str, direction: Direction, ts: int) -> Leg | None:
    config = ctx.state.config
    quote = ctx.state.quotes[symbol]
    bullish = direction == Direction.LONG
    sells_premium = strategy_spec(config.strategy).sells_premium
    if config.selection.kind == InstrumentKind.UNDERLYING and not sells_premium:
        side = Side.BUY if bullish else Side.SELL
        price = quote.ask if bullish else quote.bid
        quantity = size_order(config.sizing, price, 1, ctx.state.equity)
        return Leg.equity_opening(symbol, side, quantity, quote)
    right = config.selection.right
    if sells_premium:
        is_call, side = right == "call", Side.SELL
    elif right == "auto":
        is_call, side = bullish, Side.BUY
    else:
        is_call = right == "call"
        side = Side.BUY if bullish == is_call else Side.SELL
    chain = chain_for(ctx, symbol, ts)
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
    quantity = size_order(config.sizing, price, OPTION_MULTIPLIER, ctx.state.equity)
    return Leg.option_opening(chain, index, side, quantity)


# --- deciding and filling a leg ----------------------------------------------------------------


def _verdict(ctx: AccountContext, leg: Leg, strength: float, ts: int) -> Verdict:
    """The orchestrator's rules on the leg; a leg that sizing left empty never reaches them."""
    intent = leg.intent(ts, strength)
    if leg.quantity == 0:
        return Verdict.sized_out(f"sizing gives 0 units of {leg.instrument} at {leg.price:,.2f}")
    return decide(risk_view(ctx, leg), intent, ctx.state.config.limits)


def _decide_and_fill(
    ctx: AccountContext,
    leg: Leg,
    strength: float,
    ts: int,
    signal_id: str,
    key: str,
) -> None:
    """Decide the leg and, if approved, fill it at market or rest it as a limit order.

    `key` is "partition:offset:leg number" of the signal's tick and the leg: with the run and
    the account it makes the ids of the leg's decision, order and fill.
    """
    state = ctx.state
    verdict = _verdict(ctx, leg, strength, ts)
    decision_id = ctx.row_id("dec", key)
    ctx.emit_decision(decision_id, signal_id, ts, leg, verdict)
    if not verdict.approved:
        return
    if state.config.limits.max_orders_per_minute is not None:
        state.recent_orders.append(ts)  # kept only for the throttle, which is all that reads it
    if leg.opens:
        state.last_entry_ts[leg.underlying] = ts
    order_id = ctx.row_id("ord", key)
    costs = state.config.costs
    if not leg.opens:
        cancel_exits(ctx, leg.instrument, ts, "the position is closed by a signal")
    if leg.opens and leg.asset_class == AssetClass.EQUITY and costs.order_type == OrderType.LIMIT:
        limit = _limit_price(leg, costs)
        order = order_for(
            ctx, leg, order_id, ts, OrderType.LIMIT, decision_id=decision_id, limit_price=limit
        )
        place(ctx, order, ts)
        return
    waits = costs.latency_ms or ctx.params.fills_at_next_quote
    if waits and has_own_quotes(ctx, leg.instrument, leg.asset_class):
        order = order_for(ctx, leg, order_id, ts, OrderType.MARKET, decision_id=decision_id)
        if ctx.params.fills_at_next_quote:
            order.expires_ts = None  # decided at a close, it fills at the next open, next day
        place(ctx, order, ts)
        return
    order = order_for(ctx, leg, order_id, ts, OrderType.MARKET, decision_id=decision_id)
    fill_id = ctx.row_id("fill", key)
    fill_now(ctx, leg, order, ts, fill_id, "signal")


def _limit_price(leg: Leg, costs: Costs) -> float:
    """`limit_offset_bps` inside the mid (below it to buy, above to sell), on the tick grid, at
    least one tick."""
    offset = leg.mid * costs.limit_offset_bps / 10_000
    raw_limit = leg.mid - offset if leg.side == Side.BUY else leg.mid + offset
    return max(round(raw_limit / costs.tick_size) * costs.tick_size, costs.tick_size)


# --- time stops --------------------------------------------------------------------------------


def run_time_stops(ctx: AccountContext, at: int) -> None:
    """Close at market the positions whose time stop is due at `at`; the rest of their
    bracket is cancelled first."""
    state = ctx.state
    for due in [t for t in state.time_stops if t.at <= at]:
        state.time_stops.remove(due)
        holding = state.book.holdings.get(due.instrument)
        if holding is None:
            continue
        cancel_group(ctx, due.oco_group, at, "the time stop closes the position")
        leg = closing_leg(ctx, holding, at)
        order = order_for(ctx, leg, due.order_id, at, OrderType.MARKET)
        order.purpose, order.parent_id, order.oco_group = "time_stop", due.parent_id, due.oco_group
        order.time_in_force, order.expires_ts = TimeInForce.DAY, None
        fill_now(ctx, leg, order, at, make_id(due.order_id, "fill"), "time_stop")
