"""The account's side of the post-trade guards: feeding them closed trades and marked equity,
keeping their locks, and raising an alert when a lock starts (`flows.trading.orchestrator
.guards` has the rules)."""

from __future__ import annotations

import numpy as np

from flows.accounts.context import AccountContext
from flows.trading.orchestrator import ACCOUNT, Lock, locks_after_trade, window_drawdown_locks
from flows.trading.portfolio import ClosedTrade
from flows.trading.ticks import Floats
from schemas.common import Severity


def note_closed_trade(ctx: AccountContext, trade: ClosedTrade) -> None:
    """Log a closed trade (always, so a guard switched on later sees the past) and start the
    locks it triggers. The guards lock the trade's underlying: orders are judged by it."""
    guards = ctx.state.config.limits.guards
    locks = locks_after_trade(
        ctx.state.trade_log, trade.exit_ts, trade.underlying, trade.pnl_cents, guards
    )
    for lock in locks:
        _start(ctx, lock)


def watch_equity_window(ctx: AccountContext, ts: np.ndarray, equity: Floats | float) -> None:
    """Equity (currency) marked at ticks `ts`: a single value is the flat book's at each of
    them. Only with the window_drawdown guard configured."""
    config = ctx.state.config.limits.guards.window_drawdown
    if config is None or not len(ts):
        return
    state = ctx.state
    values = np.broadcast_to(np.asarray(equity, dtype=np.float64), ts.shape)
    held = state.guard_locks.get(("window_drawdown", ACCOUNT))
    locked_until = held.until_ts if held is not None else np.iinfo(np.int64).min
    state.equity_peaks, locks = window_drawdown_locks(
        state.equity_peaks, ts.astype(np.int64), values, config, locked_until
    )
    for lock in locks:
        _start(ctx, lock)


def active_locks(ctx: AccountContext, symbol: str, ts: int) -> tuple[Lock, ...]:
    """The locks on `symbol` or the account still in force at `ts`; forgets lifted ones."""
    locks = ctx.state.guard_locks
    for key in [key for key, lock in locks.items() if lock.until_ts <= ts]:
        del locks[key]
    return tuple(lock for lock in locks.values() if lock.scope in (symbol, ACCOUNT))


def _start(ctx: AccountContext, lock: Lock) -> None:
    ctx.state.guard_locks[(lock.rule, lock.scope)] = lock
    seconds = (lock.until_ts - lock.start_ts) // 1000
    what = f"{lock.scope} locked" if lock.scope else "account locked"
    ctx.alert(
        ts=lock.start_ts,
        kind=lock.rule,
        severity=Severity.WARNING,
        message=f"{lock.reason}; {what} for {seconds:,d} s (opening orders refused)",
        value=lock.observed,
        threshold=lock.limit,
        key=lock.scope,
    )
