"""Walk-forward windows and selection: no test window sees its own training data, and on a
series whose best parameters change half-way the choice follows the change."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.research.walk_forward import AccountSeries, walk_forward
from flows.trading.research.windows import (
    MAX_WINDOWS,
    WalkForwardPlan,
    parse_duration,
    parse_plan,
    walk_forward_windows,
)
from schemas.common import Direction
from schemas.trading import Trade

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01 UTC


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**12),
    st.integers(1, 10**10),
    st.integers(1, 10**9),
    st.integers(1, 10**9),
    st.booleans(),
)
def test_no_test_window_overlaps_its_training_data(
    start: int, span: int, train: int, test: int, anchored: bool
) -> None:
    plan = WalkForwardPlan(train, test, anchored)
    end = start + span
    try:
        windows = walk_forward_windows(start, end, plan)
    except ValueError:
        assert span <= train or (span - train) / test > MAX_WINDOWS
        return
    for previous, window in itertools.pairwise(windows):
        assert window.test_from == previous.test_to  # tiles, no gap, no overlap
    for window in windows:
        assert window.train_from < window.train_to <= window.test_from < window.test_to <= end
        assert window.train_from >= start
        assert window.train_to - window.train_from == (
            window.test_from - start if anchored else train
        )
    assert windows[0].test_from == start + train
    assert windows[-1].test_to == end


def test_plans_and_durations_parse_or_say_why_not() -> None:
    assert parse_plan("train=90d,test=30d") == WalkForwardPlan(90 * DAY, 30 * DAY)
    assert parse_plan("test=2h, train=1w", anchored=True) == WalkForwardPlan(
        7 * DAY, 2 * 3_600_000, True
    )
    assert parse_duration("1.5m") == 90_000
    for bad in ("train=90d", "train=90x,test=1d", "fast=1d,test=1d", "train=0d,test=1d"):
        with pytest.raises(ValueError, match=r"--walk-forward|duration"):
            parse_plan(bad)


def account(name: str, daily: list[float], parameter: int) -> AccountSeries:
    """Equity at 20:00 UTC each day, compounding the given daily returns, with a 1-day trade
    closing every day (its PnL the day's change)."""
    ts = np.array([T0 + i * DAY + 20 * 3_600_000 for i in range(len(daily))], dtype=np.int64)
    equity = 10_000.0 * np.cumprod(1 + np.asarray(daily))
    previous = np.concatenate(([10_000.0], equity[:-1]))
    trades = [
        Trade(
            account_id=name,
            instrument="AAPL",
            underlying="AAPL",
            direction=Direction.LONG,
            quantity=1,
            entry_ts=int(t) - DAY + 1,
            exit_ts=int(t),
            entry_price=100.0,
            exit_price=100.0,
            pnl=round(float(e - p), 2),
            commissions=0.0,
        )
        for t, e, p in zip(ts, equity, previous, strict=True)
    ]
    return AccountSeries(
        name, {"fast": parameter}, ts, equity, np.ones(len(ts), dtype=bool), trades, 10_000.0
    )


@pytest.mark.parametrize("objective", ["sharpe", "sortino", "calmar", "total_return", "psr"])
def test_the_choice_follows_parameters_whose_edge_moves_half_way(objective: str) -> None:
    rng = np.random.default_rng(11)
    days = 200
    noise = rng.normal(0, 0.002, (2, days))
    edge = np.where(np.arange(days) < days // 2, 0.003, -0.003)
    first = account("fast5", (edge + noise[0]).tolist(), 5)  # good, then bad
    second = account("fast20", (-edge + noise[1]).tolist(), 20)  # bad, then good
    plan = WalkForwardPlan(30 * DAY, 10 * DAY)
    windows = walk_forward_windows(T0, T0 + days * DAY, plan)
    report = walk_forward([first, second], windows, objective)
    half = T0 + (days // 2) * DAY
    for row in report["windows"]:
        if row["train_to"] <= half:
            assert row["chosen"] == "fast5", row
        elif row["train_from"] >= half:
            assert row["chosen"] == "fast20", row
    assert report["out_of_sample"]["total_return"] > 0
    assert len(report["windows"]) == 17


def test_stitching_adds_each_test_windows_gain_of_the_chosen_combination() -> None:
    # one combination: the out-of-sample run is its own life after the first training window
    daily = [0.01, -0.02, 0.03, 0.01, -0.01, 0.02]
    only = account("a", daily, 1)
    windows = walk_forward_windows(T0, T0 + 6 * DAY, WalkForwardPlan(2 * DAY, 2 * DAY))
    report = walk_forward([only], windows, "sharpe")
    equity = only.equity
    gained = equity[2:] - equity[1]
    np.testing.assert_allclose(report["equity"]["equity"], np.round(10_000.0 + gained, 2))
    assert [t["exit_ts"] for t in report["trades"]] == only.ts[2:].tolist()
    assert report["windows"][0]["in_sample"]["total_return"] == pytest.approx(
        equity[1] / 10_000.0 - 1
    )


def test_an_unknown_objective_is_refused() -> None:
    with pytest.raises(ValueError, match="objective"):
        walk_forward([], [], "luck")
