"""The account stage: one account's timeline over the merged, ordered ticks.

`advance` walks a segment of ticks in order. Between events it marks the book to market in
bulk (numpy over the stretch of ticks, with the book unchanged), watching the loss limits; at
events it runs Python: a strategy signal (orchestrator rules, then paper execution), a resting
order that the quotes trigger or fill (flows.accounts.resting), and boundaries of event time (a
position snapshot every N seconds, the close of a trading day, an option's expiry, a time stop,
an order's expiry).

Everything is a function of the ordered ticks, so outputs do not depend on where segments are
cut: a boundary at time T is handled before the first tick at or after T, and only once all
ticks before T are known (T < the merge's horizon). Quiet stretches produce no rows: a snapshot
or a daily row is due only after activity, so an idle weekend costs nothing.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.expiries import settle_expiries
from flows.accounts.guards import watch_equity_window
from flows.accounts.orders import execute_signal, run_time_stops
from flows.accounts.resting import expire_orders, follow_trails, next_order_event, work_orders
from flows.accounts.risk_view import position_greeks
from flows.accounts.scenarios import book_worst_scenario
from flows.accounts.signals import signals_for
from flows.accounts.spread_market import next_spread_event, work_spreads
from flows.accounts.spread_orders import on_spread_boundary, spread_boundaries
from flows.accounts.state import AccountParams, AccountState, Outputs, Quote
from flows.accounts.ticks import Ticks, mid_along, own_ticks
from flows.trading.analytics import DayTracker, daily_row, next_day_start_ms, trading_day
from flows.trading.chain import contract_terms, expiry_ts_ms, mark_contract
from flows.trading.ids import make_id
from flows.trading.orchestrator import Breach, check_breach, first_breach
from flows.trading.snapshots import snapshot_rows
from flows.trading.ticks import Floats, Segment
from flows.trading.valuation import equity_points, equity_series
from schemas.common import Severity, TradingStatus, money


def advance(
    state: AccountState, seg: Segment | None, horizon: int, params: AccountParams
) -> Outputs:
    """Process the segment's ticks of the account's symbols, then the boundaries before
    `horizon` (no tick earlier than `horizon` is still to come)."""
    ctx = AccountContext(state, params, Outputs())
    ticks = own_ticks(ctx, seg)
    events = signals_for(ctx, ticks)
    n, cursor, k = len(ticks), 0, 0
    times = ticks.ts.tolist()  # bisect on a list: a numpy search per event costs more
    while True:
        if cursor < n:
            arm(ctx, int(ticks.ts[cursor]))
        p_signal = events[k][0] if k < len(events) else n
        p_order = next_order_event(ctx, ticks, cursor) if state.pending else n
        p_spread = next_spread_event(ctx, ticks, cursor) if state.spread_orders else n
        boundary = _next_boundary(ctx)
        if boundary is not None:
            p_boundary = bisect_left(times, boundary)
            if p_boundary <= min(p_signal, p_order, p_spread) and (
                p_boundary < n or boundary < horizon
            ):
                _mark(ctx, ticks, cursor, p_boundary)
                cursor = p_boundary
                _on_boundary(ctx, boundary)
                continue
        p = min(p_signal, p_order, p_spread)
        if p >= n:
            _mark(ctx, ticks, cursor, n)
            break
        _mark(ctx, ticks, cursor, p + 1)
        cursor = p + 1
        if p == p_order:
            work_orders(ctx, ticks, p)
        if p == p_spread:
            work_spreads(ctx, ticks, p)
        while k < len(events) and events[k][0] == p:
            _, symbol, raw = events[k]
            execute_signal(ctx, ticks, p, symbol, raw)
            k += 1
    return ctx.out


def _next_boundary(ctx: AccountContext) -> int | None:
    state = ctx.state
    times = [state.next_snapshot_ms, state.day_end_ms]
    # Asked before every event: what is empty (most often all of it) is not walked.
    if state.spread_orders or state.open_spreads:
        times.extend(spread_boundaries(ctx))
    times.extend(h.expiry_ts for h in state.book.holdings.values() if h.expiry_ts is not None)
    if state.pending:
        times.extend(o.expires_ts for o in state.pending if o.expires_ts is not None)
    if state.time_stops:
        times.extend(t.at for t in state.time_stops)
    due = [t for t in times if t is not None]
    return min(due) if due else None


# --- marking between events -------------------------------------------------------------------


def _mark(ctx: AccountContext, ticks: Ticks, start: int, stop: int) -> None:
    """Apply ticks [start, stop) to the quotes and mark the book along them."""
    if stop <= start:
        return
    state = ctx.state
    first_ts = int(ticks.ts[start])
    arm(ctx, first_ts)
    # Marks first: `mid_along` reads a symbol's quote from before the stretch's ticks land.
    marks = _mark_arrays(ctx, ticks, start, stop) if state.book.holdings else {}
    _update_quotes(state, ticks, start, stop)
    if state.pending:
        follow_trails(ctx, ticks, start, stop)
    state.clock = int(ticks.ts[stop - 1])
    limits = state.config.limits
    watch = (limits.max_daily_loss is not None or limits.max_drawdown is not None) and not (
        state.breached or state.status == TradingStatus.HALTED
    )
    if not state.book.holdings:
        # A flat book is worth its cash at every tick: one sample says it all.
        value = money(state.book.cash_cents)
        state.day.observe_value(value)
        if watch:
            breach = check_breach(value, state.day.start_equity, state.peak_equity, limits)
            if breach is not None:
                _halt(ctx, first_ts, value, breach)
        watch_equity_window(ctx, ticks.ts[start:stop], value)
        state.peak_equity = max(state.peak_equity, value)
        state.equity = value
        state.marks = {}
        return
    points = equity_points(state.book, _short(marks)) if stop - start <= _SHORT else None
    if points is not None:
        state.day.observe_values(points)
        peak, last = max(points), points[-1]
    else:
        equity = equity_series(state.book, marks)
        state.day.observe(equity)
        peak, last = float(equity.max()), float(equity[-1])
    if watch or limits.guards.window_drawdown is not None:
        along = np.asarray(points) if points is not None else equity
        if watch:
            day_start = np.full(len(along), state.day.start_equity)
            hit = first_breach(along, day_start, state.peak_equity, limits)
            if hit is not None:
                at, breach = hit
                _halt(ctx, int(ticks.ts[start + at]), float(along[at]), breach)
        watch_equity_window(ctx, ticks.ts[start:stop], along)
    state.peak_equity = max(state.peak_equity, peak)
    state.equity = last
    state.marks = {name: float(values[-1]) for name, values in marks.items()}


# A stretch of at most this many ticks is valued in plain Python (`equity_points`): most
# stretches between events are short, and numpy's cost per call is then most of the work.
_SHORT = 32


def _short(marks: dict[str, Floats]) -> dict[str, list[float]]:
    return {name: values.tolist() for name, values in marks.items()}


def arm(ctx: AccountContext, ts: int) -> None:
    """Activity at `ts` opens a trading day and schedules the next snapshot, if not yet done.

    Called before the stretch of ticks is chosen, so a stretch never runs past a boundary that
    its first tick creates.
    """
    state, params = ctx.state, ctx.params
    if state.day.day is None:
        state.day.start(trading_day(ts, params.zone), state.equity)
        state.day_end_ms = next_day_start_ms(ts, params.zone)
    if state.next_snapshot_ms is None:
        interval = params.snapshot_interval_ms
        state.next_snapshot_ms = (ts // interval + 1) * interval


def _update_quotes(state: AccountState, ticks: Ticks, start: int, stop: int) -> None:
    """Each symbol's latest quote in ticks [start, stop)."""
    symbols = len(ticks.symbol_of_code)
    if symbols == 1:  # every tick is the one symbol's: its latest is the last
        state.quotes[next(iter(ticks.symbol_of_code.values()))] = _quote(ticks, stop - 1)
        return
    if stop - start <= 8:  # most stretches between events are a tick or two: skip numpy
        seen: set[int] = set()
        for i in range(stop - 1, start - 1, -1):
            code = int(ticks.codes[i])
            if code not in seen:
                seen.add(code)
                state.quotes[ticks.symbol_of_code[code]] = _quote(ticks, i)
                if len(seen) == symbols:
                    break
        return
    if symbols <= 8:
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
    quote = Quote(int(ticks.ts[i]), float(ticks.bid[i]), float(ticks.ask[i]), float(ticks.last[i]))
    if ticks.bid_size is not None and ticks.ask_size is not None and ticks.bid_size[i] >= 0:
        quote.bid_size, quote.ask_size = int(ticks.bid_size[i]), int(ticks.ask_size[i])
    return quote


def _halt(ctx: AccountContext, ts: int, equity: float, breach: Breach) -> None:
    """A loss limit is breached at `ts` with the book worth `equity`: halt the account."""
    ctx.state.equity = equity
    ctx.state.breached = True
    ctx.alert(
        ts=ts,
        kind=breach.rule,
        severity=Severity.CRITICAL,
        message=f"{breach.reason}; trading halted",
        value=breach.observed,
        threshold=breach.limit,
    )
    ctx.set_status(ts, TradingStatus.HALTED, breach.reason)


def _mark_arrays(ctx: AccountContext, ticks: Ticks, start: int, stop: int) -> dict[str, Floats]:
    """Each holding's marks along ticks [start, stop): its mid (an option's own quote when option
    quotes are fed and it has one), else the model's price at the underlying's mid."""
    state, params = ctx.state, ctx.params
    marks: dict[str, Floats] = {}
    for name, holding in state.book.holdings.items():
        if holding.expiry_ts is None or (params.option_quotes and name in state.quotes):
            marks[name] = mid_along(ctx, ticks, name)[start:stop]
        else:
            section = mid_along(ctx, ticks, holding.underlying)[start:stop]
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


# --- boundaries of event time ------------------------------------------------------------------


def _on_boundary(ctx: AccountContext, at: int) -> None:
    """Handle every boundary due at event time `at`, in a fixed order."""
    state = ctx.state
    settle_expiries(ctx, at)
    run_time_stops(ctx, at)
    expire_orders(ctx, at)
    on_spread_boundary(ctx, at)
    if state.next_snapshot_ms == at:
        take_snapshot(ctx, at)
        state.next_snapshot_ms = None
    if state.day_end_ms == at:
        _close_day(ctx, at)


def take_snapshot(ctx: AccountContext, ts: int) -> None:
    """Position snapshot rows at the latest marks, the account's state, and the day so far."""
    state = ctx.state
    marks = {name: state.marks.get(name, 0.0) for name in state.book.holdings}
    ctx.out.snapshots.extend(
        snapshot_rows(
            state.book,
            run_id=ctx.run_id,
            account_id=ctx.account_id,
            ts=ts,
            marks=marks,
            greeks=position_greeks(ctx),
            scenario=book_worst_scenario(ctx, ts),
        )
    )
    ctx.record_state(ts)
    if state.day.day is not None:
        _record_day(ctx, ts)  # the day so far; its close replaces it


def _record_day(ctx: AccountContext, ts: int) -> None:
    """The trading day's figures up to `ts`. Every write of a day has the same row id, so the
    table (replacing by `ts`) always holds the latest: the running day, then its close."""
    fields = ctx.state.day.close(ts, ctx.state.equity)
    run_id, account_id = ctx.run_id, ctx.account_id
    row_id = make_id(run_id, account_id, fields["day"].isoformat())
    ctx.out.daily.rows.append(daily_row(row_id, run_id, account_id, fields))


def _close_day(ctx: AccountContext, ts: int) -> None:
    _record_day(ctx, ts)
    ctx.state.day = DayTracker()
    ctx.state.day_end_ms = None
    _forget_expired_quotes(ctx, ts)


def _forget_expired_quotes(ctx: AccountContext, ts: int) -> None:
    """Drop the quotes of contracts that expired and are not held: chains list new ones daily."""
    state = ctx.state
    for symbol in [s for s in state.quotes if s not in state.book.holdings]:
        terms = contract_terms(symbol)
        if terms is not None and expiry_ts_ms(terms[1], ctx.params.chain) <= ts:
            del state.quotes[symbol]
