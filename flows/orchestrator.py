"""The Auto-Trade Orchestrator: an account's trading state machine and its risk rules.

Pure functions over plain values: no Kafka, ClickHouse or Bytewax. The flow's per-account
operator wraps them; everything here can be tested with literals.

Conventions
- Time is event time: integer milliseconds since the Unix epoch, UTC. Nothing reads the clock.
- Money is in the quote currency. Notional = quantity x price x multiplier (1 for shares,
  100 for option contracts). Delta is in shares-equivalent, vega in currency per 1.00 of
  volatility, both signed.
- Limits are inclusive: a value equal to its limit passes, and "equal" forgives binary
  floating-point noise (relative 1e-12), so 3 x 10.05 = 30.150000000000002 does not breach a
  30.15 limit. `None` switches a limit off.

Risk rules (`decide`), checked in this order; the first that fails decides:

    trading_state       every order   the status must allow the order (below)
    trading_hours       every order   Monday-Friday, open <= local time < close
    order_throttle      every order   approved orders in (ts - 60 s, ts], plus this one
    min_strength        opening only  signal strength >= min_strength
    cooldown            opening only  seconds since the last entry on the symbol
    duplicate_entry     opening only  already holds the symbol in this direction
    max_open_positions  opening only  a new instrument would exceed the count
    max_order_quantity  opening only  quantity
    max_order_notional  opening only  quantity x price x multiplier
    max_symbol_quantity opening only  quantity held on the symbol after the order
    max_symbol_notional opening only  market value on the symbol after the order
    max_abs_delta       opening only  |net delta| after the order
    max_abs_vega        opening only  |net vega| after the order

Orders that only reduce exposure (`opens=False`) skip every size, greek, duplicate, strength
and cooldown rule: a limit must never trap the account in the risk it is trying to shed. They
still obey the trading state, the trading hours and the throttle.

Trading state machine (`apply_command`). Rows: current status; cells: resulting status, or
"-" where the command does not apply (not accepted, status unchanged):

                  start     stop     pause    resume   reduce_only  kill_switch  config_update
    stopped       running   stopped  -        -        -            halted       stopped
    running       -         stopped  paused   -        reduce_only  halted       running
    paused        running   stopped  -        running  reduce_only  halted       paused
    reduce_only   -         stopped  paused   running  -            halted       reduce_only
    halted        running   stopped  -        -        reduce_only  halted       halted

`stop` and `kill_switch` are accepted from every status, including their own target, so an
operator's emergency button never reports failure. `start` from halted is the operator's
explicit re-arm after a kill switch or a loss breach; `reduce_only` from halted lets the operator
wind positions down without re-arming, and `resume` from reduce_only goes back to full trading.
What each status allows:

    running      every order
    reduce_only  only orders that reduce exposure
    paused, stopped, halted   nothing

Breaches (`check_breach`, `first_breach`) halt the account: the daily loss (day-start equity
minus equity, currency) or the drawdown from the peak (1 - equity / peak, a fraction) strictly
past its limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from schemas.common import Side, TradingStatus
from schemas.config import ControlAction, RiskLimits

__all__ = [
    "APPROVED",
    "RULE_ORDER",
    "THROTTLE_WINDOW_MS",
    "Breach",
    "OrderIntent",
    "RiskView",
    "Transition",
    "Verdict",
    "apply_command",
    "check_breach",
    "decide",
    "first_breach",
]

# Relative slack when comparing a float to its limit: far below a cent on any realistic order,
# far above the few ulps that products and sums of cent prices pick up in binary floating point.
_REL_TOL: Final = 1e-12
THROTTLE_WINDOW_MS: Final = 60_000
_FRIDAY_ISO: Final = 5

RULE_ORDER: Final[tuple[str, ...]] = (
    "trading_state",
    "trading_hours",
    "order_throttle",
    "min_strength",
    "cooldown",
    "duplicate_entry",
    "max_open_positions",
    "max_order_quantity",
    "max_order_notional",
    "max_symbol_quantity",
    "max_symbol_notional",
    "max_abs_delta",
    "max_abs_vega",
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The orchestrator's answer to one order.

    `rule` is "ok" when approved, else the rule that rejected; `observed` is the value that rule
    compared and `limit` what it compared against, in the rule's own unit (see `decide`).
    Approved verdicts carry observed = limit = 0.
    """

    approved: bool
    rule: str
    observed: float
    limit: float
    reason: str


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order the strategy wants, before risk.

    ts: event time, UTC ms. price: reference price per unit before the multiplier.
    multiplier: 1 for shares, 100 for option contracts. strength: the signal's, in [0, 1].
    opens: True if the order opens or increases exposure, False if it only reduces or closes.
    delta: change of the account's net delta (shares-equivalent, signed).
    vega: change of the account's net vega (currency per 1.00 of volatility, signed).
    """

    ts: int
    symbol: str
    instrument: str
    side: Side
    quantity: int
    price: float
    multiplier: int
    strength: float
    opens: bool
    delta: float
    vega: float


@dataclass(frozen=True, slots=True)
class RiskView:
    """The account just before the order, as the rules need it.

    Quantities are absolute shares or contracts; notional and equity are currency; net_delta
    is shares-equivalent, net_vega currency per 1.00 of volatility. last_entry_ts is the event
    time (UTC ms) of the last approved opening order on the order's symbol; recent_order_ts the
    event times of approved orders on any symbol (only the last minute matters).
    holds_same_direction: a position on the symbol already points the way this order opens.
    """

    status: TradingStatus
    open_positions: int
    instrument_quantity: int
    symbol_quantity: int
    symbol_notional: float
    net_delta: float
    net_vega: float
    equity: float
    day_start_equity: float
    peak_equity: float
    last_entry_ts: int | None
    recent_order_ts: tuple[int, ...]
    holds_same_direction: bool


APPROVED: Final = Verdict(approved=True, rule="ok", observed=0.0, limit=0.0, reason="approved")


def _past(observed: float, limit: float) -> bool:
    """True when `observed` exceeds `limit` by more than floating-point noise."""
    return observed - limit > _REL_TOL * abs(limit)


def _distinct(observed: float, limit: float, places: int = 2) -> tuple[str, str]:
    """Format both numbers with `places` decimals, adding decimals until they read differently.

    A rejection 0.004 past its limit must not read "10,000.00 exceeds 10,000.00".
    """
    shown_observed, shown_limit = f"{observed:,.{places}f}", f"{limit:,.{places}f}"
    while shown_observed == shown_limit and places < 12:
        places += 1
        shown_observed, shown_limit = f"{observed:,.{places}f}", f"{limit:,.{places}f}"
    return shown_observed, shown_limit


def _reject(rule: str, observed: float, limit: float, reason: str) -> Verdict:
    return Verdict(
        approved=False, rule=rule, observed=float(observed), limit=float(limit), reason=reason
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
    return _reject("trading_state", observed, allowance, reason)


@lru_cache(maxsize=64)
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


_US_PER_MINUTE: Final = 60_000_000


def _us_of_day(hour: int, minute: int, second: int, microsecond: int) -> int:
    return ((hour * 60 + minute) * 60 + second) * 1_000_000 + microsecond


def _clock(us_of_day: int) -> str:
    """HH:MM:SS.mmm, with the microseconds only when a configured time has them."""
    seconds, us = divmod(us_of_day, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    ms, sub_ms = divmod(us, 1000)
    tail = f"{sub_ms:03d}" if sub_ms else ""
    return f"{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}{tail}"


def _session_bound(clock: time) -> int:
    return _us_of_day(clock.hour, clock.minute, clock.second, clock.microsecond)


def _trading_hours(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    """Weekdays and session times are judged on the local wall clock of the exchange's zone.

    Observed is minutes after local midnight (fractional) against the open or close minute;
    on a weekend it is the ISO weekday (6 Saturday, 7 Sunday) against 5 (Friday). There is no
    holiday calendar: a weekday holiday counts as a trading day.
    """
    hours = limits.trading_hours
    if hours is None:
        return None
    # Whole seconds through zoneinfo and the milliseconds added back as integers: exact, where
    # ts / 1000 as a float could round 09:29:59.9995 onto the open.
    seconds, ms = divmod(intent.ts, 1000)
    local = datetime.fromtimestamp(seconds, tz=_zone(hours.timezone))
    weekday = local.isoweekday()
    if weekday > _FRIDAY_ISO:
        return _reject(
            "trading_hours",
            weekday,
            _FRIDAY_ISO,
            f"{local:%A %Y-%m-%d} in {hours.timezone} is a weekend day; "
            "orders are accepted Monday to Friday",
        )
    # Microseconds, so that an open configured with sub-millisecond precision compares exactly.
    now = _us_of_day(local.hour, local.minute, local.second, ms * 1000)
    open_, close = _session_bound(hours.open), _session_bound(hours.close)
    if now < open_:
        return _reject(
            "trading_hours",
            now / _US_PER_MINUTE,
            open_ / _US_PER_MINUTE,
            f"local time {_clock(now)} {hours.timezone} is before the open at {_clock(open_)}",
        )
    if now >= close:
        return _reject(
            "trading_hours",
            now / _US_PER_MINUTE,
            close / _US_PER_MINUTE,
            f"local time {_clock(now)} {hours.timezone} is at or after the close at "
            f"{_clock(close)}",
        )
    return None


def _order_throttle(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    """Observed is the orders in the trailing minute including this one (a count)."""
    limit = limits.max_orders_per_minute
    if limit is None:
        return None
    start = intent.ts - THROTTLE_WINDOW_MS
    observed = 1 + sum(1 for ts in view.recent_order_ts if start < ts <= intent.ts)
    if observed <= limit:
        return None
    return _reject(
        "order_throttle",
        observed,
        limit,
        f"{observed:,d} orders in the last 60 s including this one exceed "
        f"max_orders_per_minute {limit:,d}",
    )


# --- rules for opening orders ----------------------------------------------------------------


def _min_strength(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    if not _past(limits.min_strength, intent.strength):
        return None
    strength, minimum = _distinct(intent.strength, limits.min_strength)
    return _reject(
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
    elapsed, cooldown = _distinct(elapsed_ms / 1000, limits.cooldown_seconds, places=3)
    return _reject(
        "cooldown",
        elapsed_ms / 1000,
        limits.cooldown_seconds,
        f"{elapsed} s since the last entry on {intent.symbol} is under cooldown_seconds {cooldown}",
    )


def _duplicate_entry(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    """Observed is the same-direction positions held (1), against the 0 allowed."""
    if not view.holds_same_direction or limits.allow_duplicate_entry:
        return None
    return _reject(
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
    return _reject(
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
    return _reject(
        "max_order_quantity",
        intent.quantity,
        limit,
        f"order quantity {intent.quantity:,d} exceeds max_order_quantity {limit:,d}",
    )


def _notional(intent: OrderIntent) -> float:
    return intent.quantity * intent.price * intent.multiplier


def _max_order_notional(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_order_notional
    observed = _notional(intent)
    if limit is None or not _past(observed, limit):
        return None
    shown, shown_limit = _distinct(observed, limit)
    return _reject(
        "max_order_notional",
        observed,
        limit,
        f"order notional {shown} exceeds max_order_notional {shown_limit}",
    )


def _max_symbol_quantity(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_symbol_quantity
    observed = view.symbol_quantity + intent.quantity
    if limit is None or observed <= limit:
        return None
    return _reject(
        "max_symbol_quantity",
        observed,
        limit,
        f"{intent.symbol} quantity after the order {observed:,d} exceeds "
        f"max_symbol_quantity {limit:,d}",
    )


def _max_symbol_notional(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_symbol_notional
    observed = view.symbol_notional + _notional(intent)
    if limit is None or not _past(observed, limit):
        return None
    shown, shown_limit = _distinct(observed, limit)
    return _reject(
        "max_symbol_notional",
        observed,
        limit,
        f"{intent.symbol} notional after the order {shown} exceeds "
        f"max_symbol_notional {shown_limit}",
    )


def _max_abs_delta(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_abs_delta
    observed = abs(view.net_delta + intent.delta)
    if limit is None or not _past(observed, limit):
        return None
    shown, shown_limit = _distinct(observed, limit)
    return _reject(
        "max_abs_delta",
        observed,
        limit,
        f"|net delta| after the order {shown} exceeds max_abs_delta {shown_limit}",
    )


def _max_abs_vega(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    limit = limits.max_abs_vega
    observed = abs(view.net_vega + intent.vega)
    if limit is None or not _past(observed, limit):
        return None
    shown, shown_limit = _distinct(observed, limit)
    return _reject(
        "max_abs_vega",
        observed,
        limit,
        f"|net vega| after the order {shown} exceeds max_abs_vega {shown_limit}",
    )


_EVERY_ORDER: Final = (_trading_state, _trading_hours, _order_throttle)
_OPENING_ORDER: Final = (
    *_EVERY_ORDER,
    _min_strength,
    _cooldown,
    _duplicate_entry,
    _max_open_positions,
    _max_order_quantity,
    _max_order_notional,
    _max_symbol_quantity,
    _max_symbol_notional,
    _max_abs_delta,
    _max_abs_vega,
)


def decide(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict:
    """Approve or reject one order; the first failing rule (in `RULE_ORDER`) decides.

    Units of a rejection's observed/limit: trading_state, the exposure the order adds (1 opens,
    0 reduces) against what the status permits (1 all, 0 reducing only, -1 none);
    trading_hours, minutes after local midnight against the open or close minute, or on a
    weekend the ISO weekday against 5; order_throttle and duplicate_entry, counts; cooldown,
    seconds; quantities, shares or contracts; notionals, currency; max_abs_delta,
    shares-equivalent; max_abs_vega, currency per 1.00 of volatility.
    """
    for rule in _OPENING_ORDER if intent.opens else _EVERY_ORDER:
        verdict = rule(view, intent, limits)
        if verdict is not None:
            return verdict
    return APPROVED


# --- trading state machine -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """The result of a control command: the resulting status, whether the command applied."""

    status: TradingStatus
    accepted: bool
    reason: str


_ANY: Final = frozenset(TradingStatus)
# action -> (statuses it applies from, resulting status; None keeps the status)
_TRANSITIONS: Final[dict[ControlAction, tuple[frozenset[TradingStatus], TradingStatus | None]]] = {
    ControlAction.START: (
        frozenset({TradingStatus.STOPPED, TradingStatus.HALTED, TradingStatus.PAUSED}),
        TradingStatus.RUNNING,
    ),
    ControlAction.STOP: (_ANY, TradingStatus.STOPPED),
    ControlAction.PAUSE: (
        frozenset({TradingStatus.RUNNING, TradingStatus.REDUCE_ONLY}),
        TradingStatus.PAUSED,
    ),
    ControlAction.RESUME: (
        frozenset({TradingStatus.PAUSED, TradingStatus.REDUCE_ONLY}),
        TradingStatus.RUNNING,
    ),
    ControlAction.REDUCE_ONLY: (
        frozenset({TradingStatus.RUNNING, TradingStatus.PAUSED, TradingStatus.HALTED}),
        TradingStatus.REDUCE_ONLY,
    ),
    ControlAction.KILL_SWITCH: (_ANY, TradingStatus.HALTED),
    ControlAction.CONFIG_UPDATE: (_ANY, None),
}


def apply_command(status: TradingStatus, action: ControlAction) -> Transition:
    """Apply a control command to an account's status (table in the module docstring)."""
    sources, target = _TRANSITIONS[action]
    if status not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        return Transition(
            status=status,
            accepted=False,
            reason=f"{action.value} does not apply while {status.value}; it applies from {allowed}",
        )
    if target is None:
        return Transition(
            status=status, accepted=True, reason=f"{action.value}: status stays {status.value}"
        )
    reason = f"{action.value}: {status.value} -> {target.value}"
    if action == ControlAction.START and status == TradingStatus.HALTED:
        reason += " (operator re-armed the halted account)"
    return Transition(status=target, accepted=True, reason=reason)


# --- loss breaches ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breach:
    """A loss limit strictly past: the account must halt.

    rule "max_daily_loss": observed is day-start equity minus equity (currency).
    rule "max_drawdown": observed is 1 - equity / peak equity (a fraction, 0.2 = 20 %).
    """

    rule: str
    observed: float
    limit: float
    reason: str


def _daily_loss_breach(loss: float, limit: float) -> Breach:
    shown, shown_limit = _distinct(loss, limit)
    return Breach(
        rule="max_daily_loss",
        observed=loss,
        limit=limit,
        reason=f"daily loss {shown} exceeds max_daily_loss {shown_limit}",
    )


def _drawdown_breach(drawdown: float, limit: float) -> Breach:
    shown, shown_limit = _distinct(drawdown * 100, limit * 100)
    return Breach(
        rule="max_drawdown",
        observed=drawdown,
        limit=limit,
        reason=f"drawdown {shown}% exceeds max_drawdown {shown_limit}%",
    )


def check_breach(
    equity: float, day_start_equity: float, peak_equity: float, limits: RiskLimits
) -> Breach | None:
    """The daily-loss or drawdown breach at this equity (currency), daily loss first.

    peak_equity must be > 0 (it starts at the starting cash and only rises).
    """
    if limits.max_daily_loss is not None:
        loss = day_start_equity - equity
        if _past(loss, limits.max_daily_loss):
            return _daily_loss_breach(loss, limits.max_daily_loss)
    if limits.max_drawdown is not None:
        drawdown = 1.0 - equity / peak_equity
        if _past(drawdown, limits.max_drawdown):
            return _drawdown_breach(drawdown, limits.max_drawdown)
    return None


def first_breach(
    equity: npt.NDArray[np.float64],
    day_start_equity: npt.NDArray[np.float64],
    peak_before: float,
    limits: RiskLimits,
) -> tuple[int, Breach] | None:
    """The first index whose equity breaches a loss limit, for marking to market in bulk.

    equity and day_start_equity are 1-D, same length, currency, in event order; the day may
    change inside the arrays. The peak at index i is max(peak_before, equity[: i + 1]);
    peak_before must be > 0. Same arithmetic as `check_breach` element by element, so the two
    agree exactly, including at the limit.
    """
    equity = np.asarray(equity, dtype=np.float64)
    day_start = np.asarray(day_start_equity, dtype=np.float64)
    if equity.ndim != 1 or equity.shape != day_start.shape:
        raise ValueError(
            f"equity {equity.shape} and day_start_equity {day_start.shape} must be 1-D "
            "and of the same length"
        )
    if limits.max_daily_loss is None and limits.max_drawdown is None:
        return None
    # A switched-off limit becomes +inf, which nothing exceeds.
    max_loss = math.inf if limits.max_daily_loss is None else limits.max_daily_loss
    max_drawdown = math.inf if limits.max_drawdown is None else limits.max_drawdown
    loss = day_start - equity
    loss_hit = (loss - max_loss) > _REL_TOL * abs(max_loss)
    peak = np.maximum(np.maximum.accumulate(equity), peak_before)
    drawdown = 1.0 - equity / peak
    hit = loss_hit | ((drawdown - max_drawdown) > _REL_TOL * abs(max_drawdown))
    if not hit.any():
        return None
    index = int(np.argmax(hit))
    if loss_hit[index]:
        return index, _daily_loss_breach(float(loss[index]), max_loss)
    return index, _drawdown_breach(float(drawdown[index]), max_drawdown)
