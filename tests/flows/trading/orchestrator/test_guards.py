"""Post-trade guards: what starts a lock (hand-worked, just inside and just past each limit),
the equity window's drawdown against a brute-force reference at any cut, and locks that lift
exactly at their end."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.trading.orchestrator import (
    APPROVED,
    EquityPeaks,
    TradeLog,
    decide,
    locks_after_trade,
    window_drawdown_locks,
)
from schemas.config import Guards, LossStreak, LowPerformance, WindowDrawdown
from tests.flows.trading.orchestrator.scenarios import NOW, no_limits, scenario

SECOND = 1_000


def _trades(
    guards: Guards, *trades: tuple[int, str, int]
) -> list[list[tuple[str, str, int, int, float, float]]]:
    """The locks each (ts, symbol, pnl in cents) starts, in order, as plain tuples."""
    log = TradeLog()
    return [
        [
            (lock.rule, lock.scope, lock.start_ts, lock.until_ts, lock.observed, lock.limit)
            for lock in locks_after_trade(log, ts, symbol, pnl, guards)
        ]
        for ts, symbol, pnl in trades
    ]


# --- loss cooldown ------------------------------------------------------------------------------


def test_a_losing_trade_starts_the_loss_cooldown_on_its_symbol_and_a_winner_does_not() -> None:
    guards = Guards(loss_cooldown_seconds=300)
    starts = _trades(guards, (NOW, "AAPL", 0), (NOW + 1, "AAPL", 1), (NOW + 2, "MSFT", -1))
    assert starts == [[], [], [("loss_cooldown", "MSFT", NOW + 2, NOW + 2 + 300_000, 0.01, 0.0)]]


# --- loss streak --------------------------------------------------------------------------------

STREAK = LossStreak(count=3, window_seconds=600, lock_seconds=900)


def test_a_loss_streak_just_outside_its_window_starts_no_lock() -> None:
    # The window is (ts - 600 s, ts]: the first loss, exactly 600 s back, has left it.
    starts = _trades(
        Guards(loss_streak=STREAK),
        (NOW, "AAPL", -100),
        (NOW + 100 * SECOND, "AAPL", -100),
        (NOW + 600 * SECOND, "AAPL", -100),
    )
    assert starts == [[], [], []]


def test_a_loss_streak_just_inside_its_window_locks_the_symbol() -> None:
    end = NOW + 599_999
    starts = _trades(
        Guards(loss_streak=STREAK),
        (NOW, "AAPL", -100),
        (NOW + 100 * SECOND, "AAPL", 500),  # a winner in between does not break the count
        (NOW + 200 * SECOND, "AAPL", -100),
        (end, "AAPL", -1),
    )
    assert starts[-1] == [("loss_streak", "AAPL", end, end + 900_000, 3.0, 3.0)]
    assert starts[:-1] == [[], [], []]


def test_a_loss_streak_on_the_account_counts_every_symbol() -> None:
    guards = Guards(loss_streak=STREAK.model_copy(update={"scope": "account"}))
    per_symbol = _trades(Guards(loss_streak=STREAK), *_three_symbols())
    on_account = _trades(guards, *_three_symbols())
    assert per_symbol == [[], [], []]
    assert on_account[-1] == [("loss_streak", "", NOW + 2, NOW + 2 + 900_000, 3.0, 3.0)]


def _three_symbols() -> list[tuple[int, str, int]]:
    return [(NOW, "AAPL", -1), (NOW + 1, "MSFT", -1), (NOW + 2, "SPY", -1)]


# --- low performance ----------------------------------------------------------------------------

LOW = LowPerformance(trades=3, max_loss=100.0, lock_seconds=3_600)


def test_low_performance_at_its_limit_starts_no_lock() -> None:
    # 50.00 lost, 20.00 won, 70.00 lost: 100.00 in total over the last three, not more.
    starts = _trades(
        Guards(low_performance=LOW),
        (NOW, "AAPL", 90_000),  # older than the last three: not counted
        (NOW + 1, "AAPL", -5_000),
        (NOW + 2, "AAPL", 2_000),
        (NOW + 3, "AAPL", -7_000),
    )
    assert starts[1:] == [[], [], []]


def test_low_performance_a_cent_past_its_limit_locks_the_symbol() -> None:
    starts = _trades(
        Guards(low_performance=LOW),
        (NOW + 1, "AAPL", -5_000),
        (NOW + 2, "AAPL", 2_000),
        (NOW + 3, "AAPL", -7_001),
    )
    assert starts[-1] == [("low_performance", "AAPL", NOW + 3, NOW + 3 + 3_600_000, 100.01, 100.0)]


# --- the equity window --------------------------------------------------------------------------

WINDOW = WindowDrawdown(max_drawdown=0.05, window_seconds=60, lock_seconds=120)
NEVER = np.iinfo(np.int64).min


def _window(ts: list[int], equity: list[float]) -> list[tuple[int, int, float]]:
    _, locks = window_drawdown_locks(
        EquityPeaks(), np.array(ts, dtype=np.int64), np.array(equity), WINDOW, NEVER
    )
    return [(lock.start_ts, lock.until_ts, lock.observed) for lock in locks]


def test_a_drawdown_at_the_limit_starts_no_lock() -> None:
    assert _window([0, 10 * SECOND, 20 * SECOND], [100.0, 97.0, 95.0]) == []


def test_a_drawdown_just_past_the_limit_locks_the_account() -> None:
    [(start, until, observed)] = _window([0, 10 * SECOND, 20 * SECOND], [100.0, 97.0, 94.99])
    assert (start, until) == (20 * SECOND, 140 * SECOND)
    assert observed == pytest.approx(0.0501, rel=1e-12)


def test_a_peak_older_than_the_window_no_longer_counts() -> None:
    assert _window([0, 60 * SECOND], [100.0, 94.0]) == []  # (0, 60 s]: the peak has left
    assert len(_window([0, 59_999], [100.0, 94.0])) == 1


def test_a_drawdown_that_lasts_locks_again_only_once_the_lock_is_lifted() -> None:
    ts = [0, 1 * SECOND, 60 * SECOND, 120 * SECOND, 121 * SECOND, 122 * SECOND]
    # The lock of 1 s ends at 121 s exactly; the drawdown from 88 then starts the next one.
    equity = [100.0, 90.0, 89.0, 88.0, 80.0, 70.0]
    assert [start for start, _, _ in _window(ts, equity)] == [1 * SECOND, 121 * SECOND]


def _brute_force(
    ts: list[int], equity: list[float], config: WindowDrawdown
) -> list[tuple[int, int, float]]:
    """The specification, tick by tick: peak over (t - window, t], first breach after a lock."""
    locks, until = [], NEVER
    for i, (now, value) in enumerate(zip(ts, equity, strict=True)):
        peak = max(e for t, e in zip(ts[: i + 1], equity, strict=False) if t > now - 60_000)
        drawdown = 1.0 - value / peak
        if now >= until and drawdown - config.max_drawdown > 1e-12 * config.max_drawdown:
            until = now + config.lock_seconds * 1000
            locks.append((now, until, drawdown))
    return locks


@given(
    steps=st.lists(st.tuples(st.integers(0, 20_000), st.floats(0.9, 1.1)), min_size=1, max_size=80),
    cuts=st.lists(st.integers(1, 80), max_size=6),
)
def test_the_window_drawdown_matches_the_specification_at_any_cut(
    steps: list[tuple[int, float]], cuts: list[int]
) -> None:
    ts = np.cumsum([gap for gap, _ in steps]).astype(np.int64)
    equity = 1_000.0 * np.cumprod([move for _, move in steps])
    expected = _brute_force(ts.tolist(), equity.tolist(), WINDOW)
    peaks, found, until = EquityPeaks(), [], NEVER
    bounds = sorted({0, len(ts), *(c for c in cuts if c < len(ts))})
    for start, stop in itertools.pairwise(bounds):
        peaks, locks = window_drawdown_locks(
            peaks, ts[start:stop], equity[start:stop], WINDOW, until
        )
        found.extend((lock.start_ts, lock.until_ts, lock.observed) for lock in locks)
        until = found[-1][1] if found else NEVER
    assert [lock[:2] for lock in found] == [lock[:2] for lock in expected]
    # The same samples divided by the same peak: the drawdowns agree bit for bit.
    assert [lock[2] for lock in found] == [lock[2] for lock in expected]


# --- locks in decide ----------------------------------------------------------------------------


@given(length_s=st.integers(1, 86_400), offset_ms=st.integers(-5_000, 200_000_000))
def test_a_loss_cooldown_lock_lifts_exactly_at_its_end(length_s: int, offset_ms: int) -> None:
    guards = Guards(loss_cooldown_seconds=length_s)
    locks = locks_after_trade(TradeLog(), NOW, "AAPL", -1, guards)
    view, intent = scenario(locks=tuple(locks), ts=NOW + offset_ms)
    verdict = decide(view, intent, no_limits(guards=guards))
    if 0 <= offset_ms < length_s * 1000:
        assert (verdict.rule, verdict.limit) == ("loss_cooldown", float(length_s))
        assert verdict.observed == offset_ms / 1000
    else:
        assert verdict == APPROVED


def test_a_lock_binds_only_while_its_guard_is_configured() -> None:
    locks = locks_after_trade(TradeLog(), NOW, "AAPL", -1, Guards(loss_cooldown_seconds=60))
    view, intent = scenario(locks=tuple(locks))
    assert decide(view, intent, no_limits(guards=Guards())) == APPROVED


def test_a_lock_on_another_symbol_does_not_block_this_one() -> None:
    guards = Guards(loss_cooldown_seconds=60)
    locks = locks_after_trade(TradeLog(), NOW, "MSFT", -1, guards)
    assert decide(*scenario(locks=tuple(locks)), no_limits(guards=guards)) == APPROVED
