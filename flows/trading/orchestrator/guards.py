"""Post-trade guards: closed trades and equity that lock a symbol or the account for a while.

Pure functions over plain values, like the pre-trade rules. A guard has two halves:

- a trigger, run when a trade closes (`locks_after_trade`) or as equity is marked along ticks
  (`window_drawdown_locks`), that starts a `Lock` recording the guard's values;
- a rule in `decide` that rejects an opening order while a lock on its symbol or the account
  is in force: observed is the seconds since the lock started, limit the lock's length, so it
  reads like `cooldown`. Orders that only reduce exposure are never blocked, and a lock binds
  only while its guard is configured: switching a guard off lifts its locks.

A lock holds for event times start <= ts < until and is lifted exactly at `until`. A guard
that triggers again, in or after a lock, starts a new lock from that moment.

    guard            starts a lock when                              locks     observed / limit
    loss_cooldown    a trade on the symbol loses                     symbol    its loss / 0
    loss_streak      `count` losing trades close within the window   symbol or losses in the
                                                                     account   window / count
    window_drawdown  1 - equity / its peak in the window > limit     account   drawdown / limit
    low_performance  the symbol's last `trades` lost > `max_loss`    symbol    their loss / max_loss

Money in the currency (losses positive), event times UTC ms, drawdown a fraction. A trade is
losing when its PnL net of commissions is below zero.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from flows.trading.orchestrator.verdicts import (
    ACCOUNT,
    Lock,
    OrderIntent,
    RiskView,
    Verdict,
    distinct_figures,
    past_limit,
    reject,
)
from schemas.common import money
from schemas.config import TRADES_REMEMBERED, Guards, RiskLimits, WindowDrawdown

_T = TypeVar("_T")

GUARD_RULES: Final[tuple[str, ...]] = (
    "loss_cooldown",
    "loss_streak",
    "window_drawdown",
    "low_performance",
)


@dataclass(slots=True)
class TradeLog:
    """The closed trades the guards read, bounded: each symbol's last `TRADES_REMEMBERED`
    (exit time, PnL in cents) and, per symbol and for the account (""), the exit times of the
    last losing trades. The config caps counts at `TRADES_REMEMBERED`, so nothing a guard can
    ask for has been forgotten."""

    trades: dict[str, deque[tuple[int, int]]] = field(default_factory=dict)
    losses: dict[str, deque[int]] = field(default_factory=dict)

    def record(self, ts: int, symbol: str, pnl_cents: int) -> None:
        _remembered(self.trades, symbol).append((ts, pnl_cents))
        if pnl_cents < 0:
            _remembered(self.losses, symbol).append(ts)
            _remembered(self.losses, ACCOUNT).append(ts)


def _remembered(log: dict[str, deque[_T]], key: str) -> deque[_T]:
    if key not in log:
        log[key] = deque(maxlen=TRADES_REMEMBERED)
    return log[key]


def locks_after_trade(
    log: TradeLog, ts: int, symbol: str, pnl_cents: int, guards: Guards
) -> list[Lock]:
    """Record a trade on `symbol` closed at `ts` and return the locks it starts."""
    log.record(ts, symbol, pnl_cents)
    locks: list[Lock] = []
    if pnl_cents < 0 and guards.loss_cooldown_seconds is not None:
        seconds = guards.loss_cooldown_seconds
        loss = money(-pnl_cents)
        reason = f"a losing trade on {symbol} ({loss:,.2f}) starts loss_cooldown {seconds:,d} s"
        locks.append(Lock("loss_cooldown", symbol, ts, ts + seconds * 1000, loss, 0.0, reason))
    streak = guards.loss_streak
    if pnl_cents < 0 and streak is not None:
        scope = symbol if streak.scope == "symbol" else ACCOUNT
        start = ts - streak.window_seconds * 1000
        count = sum(1 for loss_ts in log.losses[scope] if loss_ts > start)
        if count >= streak.count:
            where = f"on {symbol}" if scope else "on the account"
            reason = (
                f"{count:,d} losing trades {where} within {streak.window_seconds:,d} s "
                f"reach loss_streak count {streak.count:,d}"
            )
            until = ts + streak.lock_seconds * 1000
            locks.append(Lock("loss_streak", scope, ts, until, count, streak.count, reason))
    low = guards.low_performance
    trades = log.trades[symbol]
    if low is not None and len(trades) >= low.trades:
        lost = money(-sum(pnl for _, pnl in list(trades)[-low.trades :]))
        if past_limit(lost, low.max_loss):
            shown, shown_limit = distinct_figures(lost, low.max_loss)
            reason = (
                f"the last {low.trades:,d} trades on {symbol} lost {shown}, "
                f"more than low_performance max_loss {shown_limit}"
            )
            until = ts + low.lock_seconds * 1000
            locks.append(Lock("low_performance", symbol, ts, until, lost, low.max_loss, reason))
    return locks


# --- the equity window ------------------------------------------------------------------------

Times = NDArray[np.int64]
Values = NDArray[np.float64]


@dataclass(slots=True)
class EquityPeaks:
    """The equity samples that can still be a window's peak: later samples that are at least as
    high make an earlier one irrelevant, so values strictly decrease as times increase. Only
    samples inside the trailing window of the latest tick are kept."""

    ts: Times = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    value: Values = field(default_factory=lambda: np.empty(0, dtype=np.float64))


def window_drawdown_locks(
    peaks: EquityPeaks, ts: Times, equity: Values, config: WindowDrawdown, locked_until: int
) -> tuple[EquityPeaks, list[Lock]]:
    """Equity `equity` (currency) at ticks `ts` (UTC ms, ascending, after every tick `peaks`
    saw): the updated peaks and the locks the drawdown starts.

    At each tick the drawdown is 1 - equity / (highest equity in (ts - window, ts]); a tick
    at or after the end of the account's lock (`locked_until`) that is past `max_drawdown`
    starts a lock. Exact maxima over exactly the same samples, so the result does not depend
    on how the ticks were cut into calls.
    """
    window_ms = config.window_seconds * 1000
    all_ts = np.concatenate((peaks.ts, ts))
    all_value = np.concatenate((peaks.value, equity))
    first = len(peaks.ts)
    starts = np.searchsorted(all_ts, ts - window_ms, side="right")
    ends = np.arange(first, first + len(ts))
    peak = _range_max(all_value, starts, ends)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0.0, 1.0 - equity / peak, 0.0)
    limit = config.max_drawdown
    past = np.flatnonzero(drawdown - limit > 1e-12 * limit)
    locks: list[Lock] = []
    while True:
        # The first tick past the limit once the account's lock (if any) has been lifted.
        j = int(np.searchsorted(ts[past], locked_until, side="left"))
        if j == len(past):
            break
        i = int(past[j])
        at = int(ts[i])
        locked_until = at + config.lock_seconds * 1000
        observed = float(drawdown[i])
        shown, shown_limit = distinct_figures(observed * 100, limit * 100)
        reason = (
            f"equity {float(equity[i]):,.2f} is {shown} % below its peak {float(peak[i]):,.2f} "
            f"of the last {config.window_seconds:,d} s, past window_drawdown {shown_limit} %"
        )
        locks.append(Lock("window_drawdown", ACCOUNT, at, locked_until, observed, limit, reason))
    return _kept_peaks(all_ts, all_value, int(ts[-1]) - window_ms), locks


def _range_max(values: Values, starts: NDArray[np.intp], ends: NDArray[np.intp]) -> Values:
    """max(values[start..end]) for each inclusive range, by a sparse table: level k holds the
    maxima of 2**k consecutive values, and two overlapping blocks cover any range."""
    lengths = ends - starts + 1
    levels = [values]
    while 2 ** len(levels) <= int(lengths.max()):
        half = 2 ** (len(levels) - 1)
        levels.append(np.maximum(levels[-1][:-half], levels[-1][half:]))
    _, exponent = np.frexp(lengths.astype(np.float64))
    level = exponent - 1  # floor(log2(length)), exact for integers
    result = np.empty(len(starts))
    for k in np.unique(level).tolist():
        rows = np.flatnonzero(level == k)
        table = levels[k]
        result[rows] = np.maximum(table[starts[rows]], table[ends[rows] - 2**k + 1])
    return result


def _kept_peaks(all_ts: Times, all_value: Values, oldest_excluded: int) -> EquityPeaks:
    """The samples still able to be a peak: strictly above every later one, and in the window."""
    later_max = np.empty(len(all_value))
    later_max[-1] = -np.inf
    later_max[:-1] = np.maximum.accumulate(all_value[::-1])[::-1][1:]
    keep = (all_value > later_max) & (all_ts > oldest_excluded)
    return EquityPeaks(all_ts[keep].copy(), all_value[keep].copy())


# --- the rules --------------------------------------------------------------------------------


def _locked(rule: str, view: RiskView, intent: OrderIntent) -> Verdict | None:
    """The rejection while `rule` locks the order's symbol or the account (the longer lock)."""
    active = [
        lock
        for lock in view.locks
        if lock.rule == rule
        and lock.scope in (intent.symbol, ACCOUNT)
        and lock.start_ts <= intent.ts < lock.until_ts
    ]
    if not active:
        return None
    lock = max(active, key=lambda item: (item.until_ts, item.scope))
    elapsed = (intent.ts - lock.start_ts) / 1000
    length = (lock.until_ts - lock.start_ts) / 1000
    remaining = (lock.until_ts - intent.ts) / 1000
    what = f"symbol {lock.scope}" if lock.scope else "the account"
    return reject(
        rule,
        elapsed,
        length,
        f"{what} locked by {rule} for {remaining:,.3f} s more: {lock.reason}",
    )


def loss_cooldown_rule(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    if not view.locks or limits.guards.loss_cooldown_seconds is None:
        return None
    return _locked("loss_cooldown", view, intent)


def loss_streak_rule(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    if not view.locks or limits.guards.loss_streak is None:
        return None
    return _locked("loss_streak", view, intent)


def window_drawdown_rule(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    if not view.locks or limits.guards.window_drawdown is None:
        return None
    return _locked("window_drawdown", view, intent)


def low_performance_rule(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    if not view.locks or limits.guards.low_performance is None:
        return None
    return _locked("low_performance", view, intent)
