"""A position's bracket: the resting exits its config asks for when an entry fills.

The take-profit (a limit), the stop-loss (a stop) and the trailing stop are one OCO group:
children of the entry (`parent_id`), cancelling each other, so at most one of them fills. They
are priced from the entry's fill price and need the instrument's own quotes to trigger on (a
share, or an option when option quotes are fed); the time stop, a boundary of event time, needs
none. Exits bypass the orchestrator, like expiries: they only ever reduce the position.
"""

from __future__ import annotations

from flows.accounts.context import AccountContext
from flows.accounts.legs import Leg
from flows.accounts.state import TimeStop
from flows.trading.ids import make_id
from flows.trading.orders import RestingOrder
from flows.trading.paper_broker import on_price_grid
from schemas.common import OrderType, Side, TimeInForce
from schemas.config import Exits

EXIT_PURPOSES = frozenset({"take_profit", "stop_loss", "trailing_stop"})


def on_tick(price: float, tick_size: float) -> float:
    """`price` on the tick grid, at least one tick."""
    return on_price_grid(max(round(price / tick_size) * tick_size, tick_size))


def bracket(
    ctx: AccountContext,
    leg: Leg,
    entry_id: str,
    price: float,
    ts: int,
    touch: tuple[float, float],
    priced: bool,
) -> tuple[list[RestingOrder], TimeStop | None]:
    """The exits of the whole position in `leg.instrument` after its entry `entry_id` filled at
    `price` at `ts` against the quote `touch` (bid, ask); price exits only if `priced`."""
    config = ctx.state.config
    exits, costs = config.exits, config.costs
    holding = ctx.state.book.holdings.get(leg.instrument)
    if holding is None or not exits.any:
        return [], None
    long = holding.quantity > 0
    group = make_id(entry_id, "oco")
    levels = _price_exits(exits, price, long, costs.tick_size, touch) if priced else []
    orders = [
        RestingOrder(
            order_id=make_id(entry_id, purpose),
            instrument=leg.instrument,
            underlying=leg.underlying,
            asset_class=leg.asset_class,
            multiplier=leg.multiplier,
            side=Side.SELL if long else Side.BUY,
            quantity=abs(holding.quantity),
            order_type=kind,
            time_in_force=TimeInForce.GTC,
            purpose=purpose,
            placed_ts=ts,
            active_ts=ts + costs.latency_ms,
            parent_id=entry_id,
            oco_group=group,
            expiry_ts=leg.expiry_ts,
            strike=leg.strike,
            is_call=leg.is_call,
            **terms,  # type: ignore[arg-type]
        )
        for kind, purpose, terms in levels
    ]
    time_stop = None
    if exits.time_stop_seconds is not None:
        time_stop = TimeStop(
            at=ts + exits.time_stop_seconds * 1000,
            instrument=leg.instrument,
            order_id=make_id(entry_id, "time_stop"),
            parent_id=entry_id,
            oco_group=group,
        )
    return orders, time_stop


def _price_exits(
    exits: Exits, price: float, long: bool, tick: float, touch: tuple[float, float]
) -> list[tuple[OrderType, str, dict[str, float]]]:
    """(order type, purpose, price terms) of each price exit the config asks for."""
    levels: list[tuple[OrderType, str, dict[str, float]]] = []
    if exits.take_profit_pct is not None:
        gain = price * exits.take_profit_pct
        if long or price - gain > 0:  # a short cannot profit past a price of 0
            level = price + gain if long else price - gain
            levels.append((OrderType.LIMIT, "take_profit", {"limit_price": on_tick(level, tick)}))
    if exits.stop_loss_pct is not None:
        loss = price * exits.stop_loss_pct
        level = price - loss if long else price + loss
        levels.append((OrderType.STOP, "stop_loss", {"stop_price": on_tick(level, tick)}))
    trail = _trail(exits.trailing_stop_amount, exits.trailing_stop_pct)
    if trail:
        reference = touch[0] if long else touch[1]
        levels.append((OrderType.TRAILING_STOP, "trailing_stop", {"reference": reference, **trail}))
    return levels


def _trail(amount: float | None, percent: float | None) -> dict[str, float]:
    if amount is not None:
        return {"trail_amount": amount}
    if percent is not None:
        return {"trail_percent": percent}
    return {}
