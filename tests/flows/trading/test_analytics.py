"""Performance analytics: exchange trading days, daily performance, whole-run metrics."""

from __future__ import annotations

import calendar
import math
import pickle
import statistics
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.analytics import (
    RATIO_CAP,
    DayTracker,
    daily_row,
    day_start_indices,
    end_of_day_equity,
    next_day_start_ms,
    run_metrics,
    trading_day,
)
from schemas.common import MAX_TS_MS, MIN_TS_MS
from schemas.metrics import RunMetrics
from schemas.tables import trusted_row
from schemas.trading import DailyPerformance

NEW_YORK = ZoneInfo("America/New_York")
RESEARCH_METRICS = list(RunMetrics.model_fields)[list(RunMetrics.model_fields).index("psr") :]


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """UTC wall time as epoch ms."""
    return calendar.timegm((year, month, day, hour, minute, 0)) * 1000


# ---------------------------------------------------------------- trading days


def test_spring_forward_day_is_23_hours_long() -> None:
    # 2026-03-08: New York moves from EST (-5) to EDT (-4) at 02:00 local
    noon = ms(2026, 3, 8, 16)
    assert trading_day(noon, NEW_YORK) == date(2026, 3, 8)
    assert next_day_start_ms(noon, NEW_YORK) == ms(2026, 3, 9, 4)
    assert next_day_start_ms(ms(2026, 3, 7, 17), NEW_YORK) == ms(2026, 3, 8, 5)
    assert ms(2026, 3, 9, 4) - ms(2026, 3, 8, 5) == 23 * 3_600_000


def test_fall_back_day_is_25_hours_long() -> None:
    # 2026-11-01: back from EDT (-4) to EST (-5) at 02:00 local
    assert next_day_start_ms(ms(2026, 10, 31, 20), NEW_YORK) == ms(2026, 11, 1, 4)
    assert next_day_start_ms(ms(2026, 11, 1, 20), NEW_YORK) == ms(2026, 11, 2, 5)
    # 23:30 EST on the 1st is 04:30 UTC on the 2nd: still the 1st on the exchange
    assert trading_day(ms(2026, 11, 2, 4, 30), NEW_YORK) == date(2026, 11, 1)
    assert trading_day(ms(2026, 11, 2, 5), NEW_YORK) == date(2026, 11, 2)


def test_a_day_whose_midnight_is_skipped_starts_at_the_first_real_instant() -> None:
    # Sao Paulo jumped from 00:00 to 01:00 on 2018-11-04 (-3 to -2): the day began 03:00 UTC
    zone = ZoneInfo("America/Sao_Paulo")
    start = next_day_start_ms(ms(2018, 11, 3, 15), zone)
    assert start == ms(2018, 11, 4, 3)
    assert trading_day(start, zone) == date(2018, 11, 4)
    assert trading_day(start - 1, zone) == date(2018, 11, 3)


@given(
    ts=st.integers(MIN_TS_MS, MAX_TS_MS - 3 * 86_400_000),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney"]),
)
def test_next_day_start_is_the_first_instant_of_the_next_date(ts: int, zone: str) -> None:
    tz = ZoneInfo(zone)
    start = next_day_start_ms(ts, tz)
    assert start > ts
    assert trading_day(start, tz) == trading_day(ts, tz) + timedelta(days=1)
    assert trading_day(start - 1, tz) == trading_day(ts, tz)
    assert 23 * 3_600_000 <= next_day_start_ms(start, tz) - start <= 25 * 3_600_000


def test_end_of_day_equity_takes_the_last_sample_of_each_exchange_day() -> None:
    ts = np.array(
        [
            ms(2026, 11, 1, 14),  # Nov 1, 09:00 EST
            ms(2026, 11, 2, 4, 30),  # Nov 1, 23:30 EST
            ms(2026, 11, 2, 5),  # Nov 2, 00:00 EST
            ms(2026, 11, 2, 21),
            ms(2026, 11, 5, 21),  # Nov 5: the days between have no samples
        ],
        dtype=np.int64,
    )
    equity = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert day_start_indices(ts, NEW_YORK).tolist() == [0, 2, 4]
    days, closes = end_of_day_equity(ts, equity, NEW_YORK)
    assert days == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 5)]
    assert closes.tolist() == [2.0, 4.0, 5.0]
    assert end_of_day_equity(ts[:0], equity[:0], NEW_YORK)[0] == []


# ---------------------------------------------------------------- daily performance


def replay_days(events: list[tuple[int, float, list[tuple[int, int]]]]) -> list[dict[str, Any]]:
    """Drive a DayTracker as the account stage does: a day closes at the first event past its
    end, with the last equity seen, stamped with the day's last event time."""
    tracker = DayTracker()
    rows: list[dict[str, Any]] = []
    boundary = last_ts = 0
    last_equity = 0.0
    for ts, equity, trades in events:
        if tracker.day is None or ts >= boundary:
            if tracker.day is not None:
                rows.append(tracker.close(last_ts, last_equity))
            tracker.start(trading_day(ts, NEW_YORK), last_equity if rows else equity)
            boundary = next_day_start_ms(ts, NEW_YORK)
        tracker.observe(np.array([equity]))
        for pnl_cents, commission_cents in trades:
            tracker.record_trade(pnl_cents, commission_cents)
        last_ts, last_equity = ts, equity
    rows.append(tracker.close(last_ts, last_equity))
    return rows


def fall_back_weekend() -> list[dict[str, Any]]:
    """Saturday Oct 31 (EDT): start 10,000.00, peak 10,050.00, close 9,950.00; one winning trade
    of +50.00 net with 2.00 commissions (realised gross 52.00). Drawdown 100 / 10,050.

    Sunday Nov 1, the 25-hour day: opens at 9,950.00, 9,980.00 then 9,900.00 (drawdown 80 /
    9,980), closes 10,100.00 at 23:30 EST, which is 04:30 UTC on Nov 2. Trades: -30.00 net
    with 2.00 commissions, and 0.00 net with 1.00 (neither a win nor a loss): realised gross
    -28.00 + 1.00 = -27.00, commissions 3.00.

    Monday Nov 2: no trades; 10,120.00 then 10,090.00: pnl -10.00, drawdown 30 / 10,120."""
    events = [
        (ms(2026, 10, 31, 14), 10_000.0, []),
        (ms(2026, 10, 31, 15), 10_050.0, [(5_000, 200)]),
        (ms(2026, 11, 1, 3, 30), 9_950.0, []),  # 23:30 EDT, Oct 31
        (ms(2026, 11, 1, 4, 30), 9_980.0, []),  # 00:30 EDT, Nov 1
        (ms(2026, 11, 1, 12), 9_900.0, [(-3_000, 200), (0, 100)]),
        (ms(2026, 11, 2, 4, 30), 10_100.0, []),  # 23:30 EST, Nov 1
        (ms(2026, 11, 2, 5, 30), 10_120.0, []),  # 00:30 EST, Nov 2
        (ms(2026, 11, 2, 20), 10_090.0, []),
    ]
    return replay_days(events)


def test_daily_performance_of_a_day_with_a_winning_trade_before_the_fall_back() -> None:
    saturday, _, _ = fall_back_weekend()
    assert saturday == {
        "day": date(2026, 10, 31),
        "ts": ms(2026, 11, 1, 3, 30),
        "start_equity": 10_000.0,
        "end_equity": 9_950.0,
        "pnl": -50.0,
        "return_pct": pytest.approx(-0.005),
        "realised_pnl": 52.0,
        "commissions": 2.0,
        "trades": 1,
        "winning_trades": 1,
        "losing_trades": 0,
        "win_rate": 1.0,
        "max_drawdown": pytest.approx(100 / 10_050),
        "high_water_mark": 10_050.0,
    }


def test_daily_performance_across_the_25_hour_fall_back_day() -> None:
    _, sunday, _ = fall_back_weekend()
    assert sunday["day"] == date(2026, 11, 1)
    assert (sunday["start_equity"], sunday["end_equity"], sunday["pnl"]) == (
        9_950.0,
        10_100.0,
        150.0,
    )
    assert sunday["return_pct"] == pytest.approx(150 / 9_950)
    assert (sunday["realised_pnl"], sunday["commissions"]) == (-27.0, 3.0)
    assert (sunday["trades"], sunday["winning_trades"], sunday["losing_trades"]) == (2, 0, 1)
    assert sunday["win_rate"] == 0.0
    assert sunday["max_drawdown"] == pytest.approx(80 / 9_980)
    assert sunday["high_water_mark"] == 10_100.0


def test_daily_performance_of_a_day_without_trades() -> None:
    _, _, monday = fall_back_weekend()
    assert monday["day"] == date(2026, 11, 2)
    assert (monday["start_equity"], monday["end_equity"], monday["pnl"]) == (
        10_100.0,
        10_090.0,
        -10.0,
    )
    assert (monday["trades"], monday["win_rate"], monday["realised_pnl"]) == (0, 0.0, 0.0)
    assert monday["commissions"] == 0.0
    assert monday["max_drawdown"] == pytest.approx(30 / 10_120)
    assert monday["high_water_mark"] == 10_120.0


def test_daily_performance_rows_are_valid_daily_performance_records() -> None:
    for row in fall_back_weekend():
        DailyPerformance(row_id=f"acct-1:{row['day']}", run_id="live", account_id="acct-1", **row)


def test_day_tracker_refuses_to_close_before_it_starts() -> None:
    with pytest.raises(RuntimeError, match="before start"):
        DayTracker().close(ms(2026, 11, 25, 21), 100.0)


def test_a_wiped_out_day_is_a_full_drawdown() -> None:
    tracker = DayTracker()
    tracker.start(date(2026, 11, 25), 1_000.0)
    tracker.observe(np.array([1_200.0, -50.0, 10.0]))
    row = tracker.close(ms(2026, 11, 25, 21), 10.0)
    assert (row["max_drawdown"], row["high_water_mark"]) == (1.0, 1_200.0)
    DailyPerformance(row_id="a", run_id="live", account_id="acct-1", **row)


equity_paths = st.lists(
    st.floats(min_value=-1e6, max_value=1e7, allow_nan=False), min_size=1, max_size=60
)


@settings(max_examples=200)
@given(path=equity_paths, cuts=st.lists(st.integers(0, 60), max_size=6), start=st.floats(1, 1e7))
def test_daily_drawdown_does_not_depend_on_where_batches_are_cut(
    path: list[float], cuts: list[int], start: float
) -> None:
    whole, batched, single, listed = DayTracker(), DayTracker(), DayTracker(), DayTracker()
    for tracker in (whole, batched, single, listed):
        tracker.start(date(2026, 11, 25), start)
    whole.observe(np.array(path))
    for part in np.split(np.array(path), sorted(c for c in cuts if c <= len(path))):
        batched.observe(part)
        listed.observe_values(part.tolist())
    for value in path:
        single.observe(value)
    assert whole == batched == single == listed
    assert 0.0 <= whole.max_drawdown <= 1.0
    assert whole.high_water_mark == max(start, *path)
    # against a plain loop over the samples
    peak, deepest = start, 0.0
    for value in path:
        peak = max(peak, value)
        deepest = max(deepest, min(1.0, (peak - value) / peak) if peak > 0 else float(value < peak))
    assert whole.max_drawdown == pytest.approx(deepest, abs=1e-12)
    assert pickle.loads(pickle.dumps(whole)) == whole


# ---------------------------------------------------------------- run metrics


def test_run_metrics_on_a_hand_made_equity_curve() -> None:
    """Start 100. Closes at 16:00 EST: Mon 110, Tue 99, Wed 104.5, Thu 121, Fri 115; and an
    intraday low of 93.5 on Wednesday morning.

    total return 115 / 100 - 1 = 0.15; deepest fall 110 -> 93.5 = 16.5 / 110 = 0.15;
    longest drawdown from Monday's 110 until Thursday's 121 = 3 days (the fall from 121 to
    Friday's 115 is never recovered but lasts 1 day); trades +10, -5, +20, 0, -15: win rate
    2 / 5, profit factor 30 / 20, expectancy 10 / 5. Daily returns are of the closes only;
    the four-day span annualises beyond the cap."""
    ts = np.array(
        [
            ms(2026, 11, 2, 21),
            ms(2026, 11, 3, 21),
            ms(2026, 11, 4, 15),
            ms(2026, 11, 4, 21),
            ms(2026, 11, 5, 21),
            ms(2026, 11, 6, 21),
        ],
        dtype=np.int64,
    )
    equity = np.array([110.0, 99.0, 93.5, 104.5, 121.0, 115.0])
    metrics = run_metrics(ts, equity, [10.0, -5.0, 20.0, 0.0, -15.0], 100.0, 0.42).values()

    returns = [110 / 100 - 1, 99 / 110 - 1, 104.5 / 99 - 1, 121 / 104.5 - 1, 115 / 121 - 1]
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    assert metrics == {
        "total_return": pytest.approx(0.15),
        "cagr": RATIO_CAP,
        "annual_volatility": pytest.approx(statistics.stdev(returns) * math.sqrt(252)),
        "sharpe": pytest.approx(
            statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(252)
        ),
        "sortino": pytest.approx(statistics.mean(returns) / downside * math.sqrt(252)),
        "max_drawdown": pytest.approx(0.15),
        "max_drawdown_duration_days": 3.0,
        "calmar": RATIO_CAP,  # 1000 / 0.15, capped
        "win_rate": 0.4,
        "profit_factor": 1.5,
        "expectancy": 2.0,
        "exposure": 0.42,
        "trade_count": 5.0,
        "final_equity": 115.0,
        "commissions": 0.0,
        # filled in by flows.trading.research.metrics.with_research_metrics
        **dict.fromkeys(RESEARCH_METRICS, 0.0),
    }


def test_cagr_compounds_over_calendar_years_and_an_unrecovered_drawdown_runs_to_the_end() -> None:
    """100 -> 121 over exactly two 365.25-day years is 10 % a year. The fall from the 130 peak
    is never recovered, so its duration runs to the last sample: 730.5 - 200 days."""
    first = ms(2024, 1, 2, 21)
    day = 86_400_000
    ts = np.array([first, first + 200 * day, first + 400 * day, first + 730 * day + day // 2])
    equity = np.array([100.0, 130.0, 104.0, 121.0])
    metrics = run_metrics(ts, equity, [], 100.0, 1.0).values()
    assert metrics["cagr"] == pytest.approx(0.10)
    assert metrics["max_drawdown"] == pytest.approx(26 / 130)
    assert metrics["max_drawdown_duration_days"] == 530.5
    assert metrics["calmar"] == pytest.approx(0.10 / 0.20)
    assert (metrics["trade_count"], metrics["win_rate"], metrics["profit_factor"]) == (0, 0, 0)


def test_edge_cases_report_finite_documented_values() -> None:
    one_day = np.array([ms(2026, 11, 25, 15), ms(2026, 11, 25, 20)], dtype=np.int64)
    flat = run_metrics(one_day, np.array([100.0, 101.0]), [5.0, 1.0], 100.0, 0.5).values()
    assert flat["cagr"] == 0.0  # under a day: not annualised
    assert flat["profit_factor"] == RATIO_CAP  # profits and no losses
    assert flat["sharpe"] == flat["sortino"] == flat["annual_volatility"] == 0.0  # one day
    assert flat["max_drawdown"] == flat["calmar"] == flat["max_drawdown_duration_days"] == 0.0

    empty = run_metrics(one_day[:0], np.zeros(0), [], 100.0, 0.0).values()
    assert empty.pop("final_equity") == 100.0  # the starting equity, without samples
    assert set(empty.values()) == {0.0}

    bust = run_metrics(one_day, np.array([50.0, -10.0]), [-110.0], 100.0, 1.0).values()
    assert (bust["cagr"], bust["max_drawdown"], bust["win_rate"]) == (-1.0, 1.0, 0.0)
    assert bust["total_return"] == pytest.approx(-1.1)

    # a sliver of equity left after two days: the growth ratio underflows to 0 in floats
    two_days = np.array([ms(2026, 11, 23, 15), ms(2026, 11, 25, 15)], dtype=np.int64)
    sliver = run_metrics(two_days, np.array([1e12, 5e-324]), [], 1e12, 1.0).values()
    assert sliver["cagr"] == pytest.approx(-1.0)
    assert sliver["max_drawdown"] == 1.0
    # and the other way: a near-zero start makes every ratio unbounded
    windfall = run_metrics(two_days, np.array([1.0, 2.0]), [], 1e-300, 1.0).values()
    assert (windfall["total_return"], windfall["cagr"]) == (RATIO_CAP, RATIO_CAP)


equity_values = st.one_of(
    st.floats(-1e12, 1e12, allow_nan=False),
    st.sampled_from([0.0, 5e-324, 1e-300, -1e-300, 1e12]),
)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 3 * 86_400_000), equity_values), min_size=1, max_size=80
    ),
    pnls=st.lists(st.floats(-1e9, 1e9, allow_nan=False), max_size=30),
    # what AlgorithmConfig.starting_cash admits
    start=st.one_of(st.floats(0, 1e12, exclude_min=True), st.sampled_from([5e-324, 1e12])),
)
def test_run_and_daily_metrics_are_always_finite(
    steps: list[tuple[int, float]], pnls: list[float], start: float
) -> None:
    ts = ms(2026, 1, 2) + np.cumsum([gap for gap, _ in steps]).astype(np.int64)
    equity = np.array([value for _, value in steps])
    metrics = run_metrics(ts, equity, pnls, start, 0.3).values()
    assert all(math.isfinite(value) for value in metrics.values()), metrics
    tracker = DayTracker()
    tracker.start(date(2026, 1, 2), start)
    tracker.observe(equity)
    row = tracker.close(int(ts[-1]), float(equity[-1]))
    DailyPerformance(row_id="a", run_id="live", account_id="acct-1", **row)
    assert 0.0 <= metrics["max_drawdown"] <= 1.0
    assert 0.0 <= metrics["win_rate"] <= 1.0
    assert 0.0 <= metrics["max_drawdown_duration_days"] <= (ts[-1] - ts[0]) / 86_400_000
    assert metrics["trade_count"] == len(pnls)


@settings(max_examples=150, deadline=None)
@given(
    path=equity_paths,
    start=st.floats(1, 1e7),
    trades=st.lists(st.tuples(st.integers(-(10**9), 10**9), st.integers(0, 10**6)), max_size=5),
    ts=st.integers(0, 4_102_444_800_000),
)
def test_a_daily_row_is_stored_as_the_trusted_conversion_would_store_it(
    path: list[float], start: float, trades: list[tuple[int, int]], ts: int
) -> None:
    tracker = DayTracker()
    tracker.start(date(2026, 11, 25), start)
    tracker.observe(np.array(path))
    for pnl, commission in trades:
        tracker.record_trade(pnl, commission)
    fields = tracker.close(ts, path[-1])
    row = daily_row("r:1", "bt-1", "acct", fields)
    expected = trusted_row(
        DailyPerformance, {"row_id": "r:1", "run_id": "bt-1", "account_id": "acct", **fields}
    )
    assert row == expected
    assert [type(value) for value in row] == [type(value) for value in expected]
