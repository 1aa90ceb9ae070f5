"""The account stage: one account's timeline over the merged, ordered ticks.

`advance` walks a segment of ticks in order. Between events it marks the book to market in
bulk (numpy over the stretch of ticks, with the book unchanged), watching the loss limits; at
events it runs Python: a strategy signal (orchestrator rules, then paper execution), a resting
limit order that the quote crosses, and boundaries of event time (a position snapshot every N
seconds, the close of a trading day, an option's expiry, a limit order's expiry).

Everything is a function of the ordered ticks, so outputs do not depend on where segments are
cut: a boundary at time T is handled before the first tick at or after T, and only once all
ticks before T are known (T < the merge's horizon). Quiet stretches produce no rows: a snapshot
or a daily row is due only after activity, so an idle weekend costs nothing.
"""

from __future__ import annotations

import numpy as np

from flows.account_state import (
    AccountParams,
    AccountState,
    Outputs,
    Quote,
    Ticks,
    alert,
    record_state,
    set_status,
)
from flows.analytics import DayTracker, next_day_start_ms, trading_day
from flows.batches import Floats, Segment
from flows.chain import contract_terms, expiry_ts_ms, mark_contract
from flows.execution import (
    execute_signal,
    expire_limit_orders,
    fill_limit_order,
    next_limit_cross,
    position_greeks,
    settle_expiries,
    signals_for,
)
from flows.ids import make_id
from flows.orchestrator import Breach, apply_command, check_breach, first_breach
from flows.portfolio import equity_series, snapshot_rows
from flows.strategies import new_strategy_state
from schemas.common import Severity, TradingStatus
from schemas.config import AlgorithmConfig, ControlAction, ControlCommand
from schemas.trading import DailyPerformance

# --- control commands ----------------------------------------------------------------------


def apply_control(state: AccountState, command: ControlCommand, params: AccountParams) -> Outputs:
    """Apply a control command at the account's current event time.

    Commands are live human input: they take effect between ticks, where they arrive.
    """
    out = Outputs()
    ts = max(state.clock, command.ts) if state.clock else command.ts
    if command.action == ControlAction.CONFIG_UPDATE and command.config is not None:
        _update_config(state, command.config)
        if not command.config.enabled and state.status != TradingStatus.STOPPED:
            # A disabled config stops the account; a start is refused until it is enabled again.
            reason = f"config version {command.config.version} is disabled"
            set_status(state, params, out, ts, TradingStatus.STOPPED, reason, command.command_id)
            return out
    if command.action in (ControlAction.START, ControlAction.RESUME) and not state.config.enabled:
        _reject(state, params, out, ts, command, "the account's config is disabled")
        return out
    transition = apply_command(state.status, command.action)
    if not transition.accepted:
        _reject(state, params, out, ts, command, transition.reason)
        return out
    if command.action == ControlAction.KILL_SWITCH:
        alert(
            state,
            params,
            out,
            ts=ts,
            kind="kill_switch",
            severity=Severity.CRITICAL,
            message=f"kill switch by command {command.command_id}: {command.reason or 'no reason'}",
            key=command.command_id,
        )
    if command.action == ControlAction.START:
        state.breached = False
    reason = transition.reason + (f" ({command.reason})" if command.reason else "")
    set_status(state, params, out, ts, transition.status, reason, command.command_id)
    return out


def _reject(
    state: AccountState,
    params: AccountParams,
    out: Outputs,
    ts: int,
    command: ControlCommand,
    why: str,
) -> None:
    """A command that does not apply leaves the account as it was, and says why."""
    alert(
        state,
        params,
        out,
        ts=ts,
        kind="command_rejected",
        severity=Severity.WARNING,
        message=f"command {command.command_id}: {why}",
        key=command.command_id,
    )


def _update_config(state: AccountState, config: AlgorithmConfig) -> None:
    """A new version applies from now on; indicators restart only if the strategy changed."""
    if config.strategy != state.config.strategy:
        state.strategies = {s: new_strategy_state(config.strategy) for s in config.symbols}
    else:
        state.strategies = {
            s: state.strategies.get(s) or new_strategy_state(config.strategy)
            for s in config.symbols
        }
    state.config = config
    state.codes, state.codes_seen = {}, 0  # the symbols may have changed


# --- the timeline ----------------------------------------------------------------------------


def _own_codes(state: AccountState, symbols: tuple[str, ...]) -> dict[int, str]:
    """The shard's codes of the account's symbols, and of their option contracts."""
    if state.codes_seen < len(symbols):
        wanted = set(state.config.symbols)
        for code in range(state.codes_seen, len(symbols)):
            symbol = symbols[code]
            terms = contract_terms(symbol)
            if symbol in wanted or (terms is not None and terms[0] in wanted):
                state.codes[code] = symbol
        state.codes_seen = len(symbols)
    return state.codes


def _own_ticks(state: AccountState, seg: Segment | None) -> Ticks:
    wanted = _own_codes(state, seg.symbols) if seg is not None else {}
    if seg is None or not wanted:
        empty_f = np.empty(0)
        empty_i = np.empty(0, dtype=np.int64)
        return Ticks(empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, empty_i, empty_i, {}, {})
    rows = np.flatnonzero(np.isin(seg.codes, list(wanted)))
    codes = seg.codes[rows]
    bid, ask = seg.bid[rows], seg.ask[rows]
    return Ticks(
        ts=seg.ts[rows],
        codes=codes,
        bid=bid,
        ask=ask,
        last=seg.last[rows],
        mid=(bid + ask) * 0.5,
        partition=seg.partition[rows],
        offsets=seg.offsets[rows],
        symbol_of_code={code: wanted[code] for code in np.unique(codes).tolist()},
        filled_mid={},
    )


def mid_along(state: AccountState, ticks: Ticks, symbol: str) -> Floats:
    """The symbol's mid carried forward along the account's ticks, computed when first asked.

    Before the symbol's next tick it is its current quote (NaN if it never had one): asked at
    the start of a stretch, before the stretch's ticks are applied, that is right for every row
    from the stretch on, and earlier rows are never read again.
    """
    filled = ticks.filled_mid.get(symbol)
    if filled is None:
        code = next((c for c, s in ticks.symbol_of_code.items() if s == symbol), None)
        known = state.quotes.get(symbol)
        before = known.mid if known is not None else np.nan
        if code is None:
            filled = np.full(len(ticks), before)
        else:
            positions = np.arange(len(ticks))
            latest = np.maximum.accumulate(np.where(ticks.codes == code, positions, -1))
            filled = np.where(latest >= 0, ticks.mid[np.maximum(latest, 0)], before)
        ticks.filled_mid[symbol] = filled
    return filled


def advance(
    state: AccountState, seg: Segment | None, horizon: int, params: AccountParams
) -> Outputs:
    """Process the segment's ticks of the account's symbols, then the boundaries before
    `horizon` (no tick earlier than `horizon` is still to come)."""
    out = Outputs()
    ticks = _own_ticks(state, seg)
    events = signals_for(state, ticks, params, out)
    n, cursor, k = len(ticks), 0, 0
    while True:
        if cursor < n:
            _arm(state, int(ticks.ts[cursor]), params)
        p_signal = events[k][0] if k < len(events) else n
        p_limit, limit_index = next_limit_cross(state, ticks, cursor)
        boundary = _next_boundary(state)
        if boundary is not None:
            p_boundary = int(np.searchsorted(ticks.ts, boundary, side="left"))
            if p_boundary <= min(p_signal, p_limit) and (p_boundary < n or boundary < horizon):
                _mark(state, ticks, cursor, p_boundary, params, out)
                cursor = p_boundary
                _on_boundary(state, boundary, params, out)
                continue
        p = min(p_signal, p_limit)
        if p >= n:
            _mark(state, ticks, cursor, n, params, out)
            break
        _mark(state, ticks, cursor, p + 1, params, out)
        cursor = p + 1
        if p == p_limit and limit_index is not None:
            fill_limit_order(state, ticks, p, limit_index, params, out)
        while k < len(events) and events[k][0] == p:
            _, symbol, raw = events[k]
            execute_signal(state, ticks, p, symbol, raw, params, out)
            k += 1
    return out


def _next_boundary(state: AccountState) -> int | None:
    times = [state.next_snapshot_ms, state.day_end_ms]
    times.extend(h.expiry_ts for h in state.book.holdings.values() if h.expiry_ts is not None)
    times.extend(p.expires_ts for p in state.pending)
    due = [t for t in times if t is not None]
    return min(due) if due else None


def _mark(
    state: AccountState, ticks: Ticks, start: int, stop: int, params: AccountParams, out: Outputs
) -> None:
    """Apply ticks [start, stop) to the quotes and mark the book along them."""
    if stop <= start:
        return
    first_ts = int(ticks.ts[start])
    _arm(state, first_ts, params)
    # Marks first: `mid_along` reads a symbol's quote from before the stretch's ticks land.
    marks = _mark_arrays(state, ticks, start, stop, params) if state.book.holdings else {}
    _update_quotes(state, ticks, start, stop)
    state.clock = int(ticks.ts[stop - 1])
    limits = state.config.limits
    watch = (limits.max_daily_loss is not None or limits.max_drawdown is not None) and not (
        state.breached or state.status == TradingStatus.HALTED
    )
    if not state.book.holdings:
        # A flat book is worth its cash at every tick: one sample says it all.
        value = state.book.cash_cents / 100
        state.day.observe_value(value)
        if watch:
            breach = check_breach(value, state.day.start_equity, state.peak_equity, limits)
            if breach is not None:
                _halt(state, first_ts, value, breach, params, out)
        state.peak_equity = max(state.peak_equity, value)
        state.equity = value
        state.marks = {}
        return
    equity = equity_series(state.book, marks)
    state.day.observe(equity)
    if watch:
        day_start = np.full(len(equity), state.day.start_equity)
        hit = first_breach(equity, day_start, state.peak_equity, limits)
        if hit is not None:
            at, breach = hit
            _halt(state, int(ticks.ts[start + at]), float(equity[at]), breach, params, out)
    state.peak_equity = max(state.peak_equity, float(equity.max()))
    state.equity = float(equity[-1])
    state.marks = {name: float(values[-1]) for name, values in marks.items()}


def _arm(state: AccountState, ts: int, params: AccountParams) -> None:
    """Activity at `ts` opens a trading day and schedules the next snapshot, if not yet done.

    Called before the stretch of ticks is chosen, so a stretch never runs past a boundary that
    its first tick creates.
    """
    if state.day.day is None:
        state.day.start(trading_day(ts, params.zone), state.equity)
        state.day_end_ms = next_day_start_ms(ts, params.zone)
    if state.next_snapshot_ms is None:
        interval = params.snapshot_interval_ms
        state.next_snapshot_ms = (ts // interval + 1) * interval


def _update_quotes(state: AccountState, ticks: Ticks, start: int, stop: int) -> None:
    """Each symbol's latest quote in ticks [start, stop)."""
    if stop - start <= 8:  # most stretches between events are a tick or two: skip numpy
        seen: set[int] = set()
        for i in range(stop - 1, start - 1, -1):
            code = int(ticks.codes[i])
            if code not in seen:
                seen.add(code)
                state.quotes[ticks.symbol_of_code[code]] = _quote(ticks, i)
        return
    if len(ticks.symbol_of_code) <= 8:
        for code, symbol in ticks.symbol_of_code.items():
            rows = np.flatnonzero(ticks.codes[start:stop] == code)
            if len(rows):
                state.quotes[symbol] = _quote(ticks, start + int(rows[-1]))
        return
    # Many symbols (option contracts): one pass finds each one's last row.
    backwards = ticks.codes[start:stop][::-1]
    codes, first = np.unique(backwards, return_index=True)
    for code, back in zip(codes.tolist(), first.tolist(), strict=True):
        state.quotes[ticks.symbol_of_code[code]] = _quote(ticks, stop - 1 - back)


def _quote(ticks: Ticks, i: int) -> Quote:
    return Quote(int(ticks.ts[i]), float(ticks.bid[i]), float(ticks.ask[i]), float(ticks.last[i]))


def _halt(
    state: AccountState,
    ts: int,
    equity: float,
    breach: Breach,
    params: AccountParams,
    out: Outputs,
) -> None:
    state.equity = equity
    state.breached = True
    alert(
        state,
        params,
        out,
        ts=ts,
        kind=breach.rule,
        severity=Severity.CRITICAL,
        message=f"{breach.reason}; trading halted",
        value=breach.observed,
        threshold=breach.limit,
    )
    set_status(state, params, out, ts, TradingStatus.HALTED, breach.reason)


def _mark_arrays(
    state: AccountState, ticks: Ticks, start: int, stop: int, params: AccountParams
) -> dict[str, Floats]:
    marks: dict[str, Floats] = {}
    for name, holding in state.book.holdings.items():
        if holding.expiry_ts is None or (params.option_quotes and name in state.quotes):
            marks[name] = mid_along(state, ticks, name)[start:stop]
        else:
            section = mid_along(state, ticks, holding.underlying)[start:stop]
            assert holding.strike is not None and holding.is_call is not None
            marks[name] = mark_contract(
                holding.underlying,
                section,
                ticks.ts[start:stop],
                holding.expiry_ts,
                holding.strike,
                holding.is_call,
                params.chain,
            )
    return marks


def _on_boundary(state: AccountState, at: int, params: AccountParams, out: Outputs) -> None:
    """Handle every boundary due at event time `at`, in a fixed order."""
    settle_expiries(state, at, params, out)
    expire_limit_orders(state, at, params, out)
    if state.next_snapshot_ms == at:
        take_snapshot(state, at, params, out)
        state.next_snapshot_ms = None
    if state.day_end_ms == at:
        _close_day(state, at, params, out)


def take_snapshot(state: AccountState, ts: int, params: AccountParams, out: Outputs) -> None:
    marks = {name: state.marks.get(name, 0.0) for name in state.book.holdings}
    out.snapshots.extend(
        snapshot_rows(
            state.book,
            run_id=params.run_id,
            account_id=state.account_id,
            ts=ts,
            marks=marks,
            greeks=position_greeks(state, params),
        )
    )
    record_state(state, params, ts, out)
    if state.day.day is not None:
        _record_day(state, ts, params, out)  # the day so far; its close replaces it


def _record_day(state: AccountState, ts: int, params: AccountParams, out: Outputs) -> None:
    """The trading day's figures up to `ts`. Every write of a day has the same row id, so the
    table (replacing by `ts`) always holds the latest: the running day, then its close."""
    fields = state.day.close(ts, state.equity)
    day = fields["day"]
    out.daily.append(
        DailyPerformance(
            row_id=make_id(params.run_id, state.account_id, day.isoformat()),
            run_id=params.run_id,
            account_id=state.account_id,
            **fields,
        )
    )


def _close_day(state: AccountState, ts: int, params: AccountParams, out: Outputs) -> None:
    _record_day(state, ts, params, out)
    state.day = DayTracker()
    state.day_end_ms = None
    _forget_expired_quotes(state, ts, params)


def _forget_expired_quotes(state: AccountState, ts: int, params: AccountParams) -> None:
    """Drop the quotes of contracts that expired and are not held: chains list new ones daily."""
    for symbol in [s for s in state.quotes if s not in state.book.holdings]:
        terms = contract_terms(symbol)
        if terms is not None and expiry_ts_ms(terms[1], params.chain) <= ts:
            del state.quotes[symbol]
