"""The risk rules and `decide`: an ordered tuple of pure rules, the first that fails decides.

Each rule is `(view, intent, limits) -> Verdict | None`; None passes. Rule order and the units of
each rejection are in the package docstring and `decide`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from flows.trading.orchestrator.guards import (
    loss_cooldown_rule,
    loss_streak_rule,
    low_performance_rule,
    window_drawdown_rule,
)
from flows.trading.orchestrator.scenarios import max_scenario_loss_rule
from flows.trading.orchestrator.trading_hours import trading_hours_rule
from flows.trading.orchestrator.verdicts import (
    APPROVED,
    OrderIntent,
    RiskView,
    Verdict,
    distinct_figures,
    past_limit,
    reject,
)
from flows.trading.per_config import PerConfig
from schemas.common import TradingStatus
from schemas.config import RiskLimits

THROTTLE_WINDOW_MS: Final = 60_000

RULE_ORDER: Final[tuple[str, ...]] = (
    "trading_state",
    "trading_hours",
    "order_throttle",
    "min_strength",
    "cooldown",
    "loss_cooldown",
    "loss_streak",
    "window_drawdown",
    "low_performance",
    "duplicate_entry",
    "max_open_positions",
    "max_order_quantity",
    "max_order_notional",
    "max_symbol_quantity",
    "max_symbol_notional",
    "max_abs_delta",
    "max_abs_vega",
    "max_scenario_loss",
)


# --- rules for every order -------------------------------------------------------------------

# trading_state compares how much exposure the order adds (1 opens, 0 only reduces) with the
# most the status permits (1 anything, 0 reducing only, -1 nothing), so that, like every other
# rule, it rejects when observed > limit.
_STATUS_ALLOWANCE: Final[dict[TradingStatus, int]] = {
    TradingStatus.RUNNING: 1,
    TradingStatus.REDUCE_ONLY: 0,
    TradingStatus.PAUSED: -1,
    TradingStatus.STOPPED: -1,
    TradingStatus.HALTED: -1,
}


def _trading_state(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    observed = 1 if intent.opens else 0
    allowance = _STATUS_ALLOWANCE[view.status]
    if observed <= allowance:
        return None
    if allowance == 0:
        reason = "status reduce_only accepts only orders that reduce exposure; this order opens"
    else:
        kind = "opening" if intent.opens else "closing"
        reason = f"status {view.status.value} accepts no orders; rejected a {kind} order"
    return reject("trading_state", observed, allowance, reason)


def _order_throttle(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    """Observed is the orders in the trailing minute including this one (a count)."""
    limit = limits.max_orders_per_minute
    if limit is None:
        return None
    start = intent.ts - THROTTLE_WINDOW_MS
    observed = 1 + sum(1 for ts in view.recent_order_ts if start < ts <= intent.ts)
    if observed <= limit:
        return None
    return reject(
        "order_throttle",
        observed,
        limit,
        f"{observed:,d} orders in the last 60 s including this one exceed "
        f"max_orders_per_minute {limit:,d}",
    )


# --- rules for opening orders ----------------------------------------------------------------


def _min_strength(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    if not past_limit(limits.min_strength, intent.strength):
        return None
    strength, minimum = distinct_figures(intent.strength, limits.min_strength)
    return reject(
        "min_strength",
        intent.strength,
        limits.min_strength,
        f"signal strength {strength} is below min_strength {minimum}",
    )


def _cooldown(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    """Observed is the seconds since the last entry on the symbol (ms resolution)."""
    if view.last_entry_ts is None or limits.cooldown_seconds == 0:
        return None
    elapsed_ms = intent.ts - view.last_entry_ts
    if elapsed_ms >= limits.cooldown_seconds * 1000:
        return None
    elapsed, cooldown = distinct_figures(elapsed_ms / 1000, limits.cooldown_seconds, places=3)
    return reject(
        "cooldown",
        elapsed_ms / 1000,
        limits.cooldown_seconds,
        f"{elapsed} s since the last entry on {intent.symbol} is under cooldown_seconds {cooldown}",
    )


def _duplicate_entry(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    """Observed is the same-direction positions held (1), against the 0 allowed."""
    if not view.holds_same_direction or limits.allow_duplicate_entry:
        return None
    return reject(
        "duplicate_entry",
        1,
        0,
        f"already holds a position on {intent.symbol} in this direction "
        "and allow_duplicate_entry is off",
    )


def _max_open_positions(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_open_positions
    # Adding to an instrument already held does not open a new position.
    if limit is None or view.instrument_quantity != 0:
        return None
    observed = view.open_positions + 1
    if observed <= limit:
        return None
    return reject(
        "max_open_positions",
        observed,
        limit,
        f"opening {intent.instrument} would make {observed:,d} open positions, "
        f"over max_open_positions {limit:,d}",
    )


def _max_order_quantity(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_order_quantity
    if limit is None or intent.quantity <= limit:
        return None
    return reject(
        "max_order_quantity",
        intent.quantity,
        limit,
        f"order quantity {intent.quantity:,d} exceeds max_order_quantity {limit:,d}",
    )


def _notional(intent: OrderIntent) -> float:
    return intent.quantity * intent.price * intent.multiplier


def _past(
    rule: str, observed: float, limit: float | None, what: str, symbol: str = ""
) -> Verdict | None:
    """A rejection by `rule` when the float `observed` is past `limit` (None: no limit), with
    both shown to the digits that tell them apart. `what` may name `{symbol}`: it is formatted
    only for a rejection, not for every order."""
    if limit is None or not past_limit(observed, limit):
        return None
    shown, shown_limit = distinct_figures(observed, limit)
    named = what.format(symbol=symbol)
    return reject(rule, observed, limit, f"{named} {shown} exceeds {rule} {shown_limit}")


def _max_order_notional(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    observed = _notional(intent)
    return _past("max_order_notional", observed, limits.max_order_notional, "order notional")


def _max_symbol_quantity(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_symbol_quantity
    observed = view.symbol_quantity + intent.quantity
    if limit is None or observed <= limit:
        return None
    return reject(
        "max_symbol_quantity",
        observed,
        limit,
        f"{intent.symbol} quantity after the order {observed:,d} exceeds "
        f"max_symbol_quantity {limit:,d}",
    )


def _max_symbol_notional(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    observed = view.symbol_notional + _notional(intent)
    what = "{symbol} notional after the order"
    return _past("max_symbol_notional", observed, limits.max_symbol_notional, what, intent.symbol)


def _max_abs_delta(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    observed = abs(view.net_delta + intent.delta)
    what = "|net delta| after the order"
    return _past("max_abs_delta", observed, limits.max_abs_delta, what)


def _max_abs_vega(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    observed = abs(view.net_vega + intent.vega)
    what = "|net vega| after the order"
    return _past("max_abs_vega", observed, limits.max_abs_vega, what)


_EVERY_ORDER: Final = (_trading_state, trading_hours_rule, _order_throttle)
_OPENING_ORDER: Final = (
    *_EVERY_ORDER,
    _min_strength,
    _cooldown,
    loss_cooldown_rule,
    loss_streak_rule,
    window_drawdown_rule,
    low_performance_rule,
    _duplicate_entry,
    _max_open_positions,
    _max_order_quantity,
    _max_order_notional,
    _max_symbol_quantity,
    _max_symbol_notional,
    _max_abs_delta,
    _max_abs_vega,
    max_scenario_loss_rule,  # last: it revalues the whole book, the dearest rule by far
)


Rule = Callable[[RiskView, OrderIntent, RiskLimits], Verdict | None]


def _switched_on(rule: Rule, limits: RiskLimits) -> bool:
    """False for a rule that passes every order under `limits` (its limit is off): `decide`
    skips it. A rule not named here always runs."""
    guards = limits.guards
    off: dict[Rule, bool] = {
        trading_hours_rule: limits.trading_hours is None,
        _order_throttle: limits.max_orders_per_minute is None,
        _cooldown: limits.cooldown_seconds == 0,
        loss_cooldown_rule: guards.loss_cooldown_seconds is None,
        loss_streak_rule: guards.loss_streak is None,
        window_drawdown_rule: guards.window_drawdown is None,
        low_performance_rule: guards.low_performance is None,
        _duplicate_entry: limits.allow_duplicate_entry,
        _max_open_positions: limits.max_open_positions is None,
        _max_order_quantity: limits.max_order_quantity is None,
        _max_order_notional: limits.max_order_notional is None,
        _max_symbol_quantity: limits.max_symbol_quantity is None,
        _max_symbol_notional: limits.max_symbol_notional is None,
        _max_abs_delta: limits.max_abs_delta is None,
        _max_abs_vega: limits.max_abs_vega is None,
        max_scenario_loss_rule: limits.max_scenario_loss is None,
    }
    return not off.get(rule, False)


def _rules_on(limits: RiskLimits) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    """The rules that can reject under `limits`, for closing and for opening orders."""
    every = tuple(rule for rule in _EVERY_ORDER if _switched_on(rule, limits))
    opening = tuple(rule for rule in _OPENING_ORDER if _switched_on(rule, limits))
    return every, opening


# Most limits are off in most configs, and running every rule for every order cost more than
# deciding.
_rules_for: PerConfig[RiskLimits, tuple[tuple[Rule, ...], tuple[Rule, ...]]] = PerConfig(_rules_on)


def decide(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict:
    """Approve or reject one order; the first failing rule (in `RULE_ORDER`) decides.

    Units of a rejection's observed/limit: trading_state, the exposure the order adds (1 opens,
    0 reduces) against what the status permits (1 all, 0 reducing only, -1 none);
    trading_hours, minutes after local midnight against the open or close minute, or on a
    weekend the ISO weekday against 5; order_throttle and duplicate_entry, counts; cooldown,
    seconds; quantities, shares or contracts; notionals, currency; max_abs_delta,
    shares-equivalent; max_abs_vega, currency per 1.00 of volatility; the guards (loss_cooldown,
    loss_streak, window_drawdown, low_performance), the seconds since their lock started against
    its length; max_scenario_loss, currency.
    """
    every, opening = _rules_for(limits)
    for rule in opening if intent.opens else every:
        verdict = rule(view, intent, limits)
        if verdict is not None:
            return verdict
    return APPROVED
