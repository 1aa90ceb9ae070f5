"""Research metrics: against empyrical (an independent implementation, installed for the tests
only) on the same returns, the worked example of the deflated Sharpe ratio paper, and small
cases computed by hand."""

from __future__ import annotations

import calendar
import math

import empyrical
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flows.trading.analytics import run_metrics
from flows.trading.research.metrics import (
    INTRADAY_PERIODS_PER_YEAR,
    INTRADAY_STEP_MS,
    AccountActivity,
    SharpeSample,
    cvar,
    deflate,
    deflated_sharpe,
    expected_max_sharpe,
    holding_hours,
    longest_flat_ms,
    omega,
    probabilistic_sharpe,
    return_grid,
    sqn,
    tail_ratio,
    turnover,
    ulcer_index,
    with_research_metrics,
)

HOUR = 3_600_000

# Period returns as a price series gives them: no finer than 1e-12 (a 1e-218 return is not a
# return, and empyrical's own moments underflow on it while ours are scaled first).
returns_arrays = arrays(
    np.float64,
    st.integers(5, 300),
    elements=st.floats(-0.2, 0.2, allow_nan=False, allow_subnormal=False).map(
        lambda value: round(value, 12)
    ),
)


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, 0)) * 1000


def normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# ------------------------------------------------------------ against empyrical


@settings(max_examples=200, deadline=None)
@given(returns_arrays)
def test_omega_cvar_and_tail_ratio_agree_with_empyrical(returns: np.ndarray) -> None:
    assert cvar(returns) == pytest.approx(empyrical.conditional_value_at_risk(returns), abs=1e-12)
    expected_omega = empyrical.omega_ratio(returns, annualization=1)
    if not math.isnan(expected_omega):
        assert omega(returns) == pytest.approx(min(expected_omega, 1000.0), rel=1e-9)
    expected_tail = empyrical.tail_ratio(returns)
    if math.isfinite(expected_tail):
        assert tail_ratio(returns) == pytest.approx(min(expected_tail, 1000.0), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(returns_arrays)
def test_per_period_sharpe_agrees_with_empyrical(returns: np.ndarray) -> None:
    sample = SharpeSample.of(returns)
    if sample is None:
        return
    annual = empyrical.sharpe_ratio(returns, annualization=252)
    assert sample.sharpe * math.sqrt(252) == pytest.approx(annual, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------ PSR and DSR


def test_deflated_sharpe_reproduces_the_papers_worked_example() -> None:
    # Bailey and López de Prado (2014), "The Deflated Sharpe Ratio", section on a numerical
    # example: N = 100 trials, annualised variance of their Sharpe ratios 0.5, best annualised
    # Sharpe 2.5 over T = 1250 daily returns (250 a year), skewness -3, kurtosis 10. The paper
    # finds an expected maximum Sharpe of 0.1132 (daily) and a DSR of 0.9004.
    daily_variance = 0.5 / 250
    assert expected_max_sharpe(100, daily_variance) == pytest.approx(0.1132, abs=5e-5)
    best = SharpeSample(sharpe=2.5 / math.sqrt(250), count=1250, skew=-3.0, kurtosis=10.0)
    assert deflated_sharpe(best, 100, daily_variance) == pytest.approx(0.9004, abs=5e-4)


def test_psr_of_normal_returns_by_hand() -> None:
    # Normal returns (skew 0, kurtosis 3): z = SR sqrt(n - 1) / sqrt(1 + SR^2 / 2).
    sample = SharpeSample(sharpe=0.1, count=101, skew=0.0, kurtosis=3.0)
    assert probabilistic_sharpe(sample) == pytest.approx(
        normal_cdf(0.1 * 10 / math.sqrt(1.005)), abs=1e-12
    )
    # negative skew widens the estimate's spread, so the same Sharpe is less convincing
    skewed = SharpeSample(sharpe=0.1, count=101, skew=-2.0, kurtosis=9.0)
    assert probabilistic_sharpe(skewed) < probabilistic_sharpe(sample)


@settings(max_examples=100, deadline=None)
@given(returns_arrays)
# tiny returns: their third and fourth powers underflowed before the series was scaled
@example(np.array([1.89237658e-112, 0.0, 0.0, 0.0, 0.0]))
def test_psr_is_one_half_at_its_own_sharpe_and_deflation_only_lowers_it(r: np.ndarray) -> None:
    sample = SharpeSample.of(r)
    if sample is None:
        return
    assert probabilistic_sharpe(sample, sample.sharpe) == pytest.approx(0.5, abs=1e-12)
    psr = probabilistic_sharpe(sample)
    assert deflated_sharpe(sample, 1, 0.3) == psr
    assert deflated_sharpe(sample, 20, 0.01) <= psr


def test_deflating_a_sweep_uses_its_size_and_the_spread_of_its_sharpes() -> None:
    rng = np.random.default_rng(7)
    trials = [rng.normal(0.001, 0.01, 250) for _ in range(10)]
    samples = [SharpeSample.of(t) for t in trials]
    base = run_metrics(np.zeros(0, np.int64), np.zeros(0), [], 1000.0, 0.0)
    metrics = [base.model_copy(update={"psr": probabilistic_sharpe(s)}) for s in samples]
    deflated = deflate(metrics, samples)
    sharpes = np.array([s.sharpe for s in samples if s is not None])
    threshold = expected_max_sharpe(10, float(sharpes.var(ddof=1)))
    for m, s in zip(deflated, samples, strict=True):
        assert m.deflated_sharpe == pytest.approx(probabilistic_sharpe(s, threshold), abs=1e-15)
        assert m.deflated_sharpe < m.psr


# ------------------------------------------------------------ by hand


def test_sqn_by_hand() -> None:
    # mean 7.5, sample std sqrt(325 / 3): sqrt(4) x 7.5 / 10.408
    assert sqn([10.0, -5.0, 20.0, 5.0]) == pytest.approx(2 * 7.5 / math.sqrt(325 / 3))
    assert sqn([10.0]) == 0.0


def test_ulcer_index_by_hand() -> None:
    # drawdowns 0, 0, 0.1, 0.2, 0, 0: sqrt((0.01 + 0.04) / 6)
    assert ulcer_index([100, 110, 99, 88, 110, 121]) == pytest.approx(math.sqrt(0.05 / 6))


def test_holding_times_and_turnover_by_hand() -> None:
    assert holding_hours([(0, 2 * HOUR), (HOUR, 7 * HOUR)]) == (4.0, 6.0)
    assert turnover(3000.0, [900.0, 1100.0]) == 3.0


def test_longest_flat_stretch_runs_to_the_next_position() -> None:
    ts = np.array([0, 1, 2, 3, 4, 5, 6, 7]) * HOUR
    invested = [True, False, False, False, True, False, False, False]
    # flat from 1 h to the position at 4 h (3 h), and from 5 h to the end at 7 h (2 h)
    assert longest_flat_ms(ts, invested) == 3 * HOUR
    assert longest_flat_ms(ts, [True] * 8) == 0


def test_multi_day_runs_use_daily_returns() -> None:
    ts = np.array([ms(2026, 3, 2, 15), ms(2026, 3, 2, 20), ms(2026, 3, 3, 15), ms(2026, 3, 4, 15)])
    grid = return_grid(ts, np.array([101.0, 102.0, 99.96, 104.958]), 100.0)
    assert grid.name == "daily"
    assert grid.periods_per_year == 252
    np.testing.assert_allclose(grid.returns, [0.02, -0.02, 0.05])


def test_a_run_inside_one_day_uses_a_5_minute_grid() -> None:
    start = ms(2026, 3, 2, 15)  # a multiple of 5 minutes
    minute = 60_000
    ts = np.array([start, start + 1 * minute, start + 4 * minute, start + 11 * minute])
    grid = return_grid(ts, np.array([100.0, 101.0, 110.0, 121.0]), 100.0)
    assert grid.name == "5min"
    assert grid.periods_per_year == INTRADAY_PERIODS_PER_YEAR
    assert 5 * minute == INTRADAY_STEP_MS
    # bars 15:00-15:05 (last 110), 15:05-15:10 (none: carries 110), 15:10-15:15 (121)
    np.testing.assert_allclose(grid.equity, [100.0, 110.0, 110.0, 121.0])
    np.testing.assert_allclose(grid.returns, [0.1, 0.0, 0.1])


def test_research_metrics_fill_in_run_metrics() -> None:
    ts = np.array([ms(2026, 3, d, 20) for d in (2, 3, 4, 5, 6)], dtype=np.int64)
    equity = np.array([1010.0, 1000.0, 1030.0, 1020.0, 1050.0])
    base = run_metrics(ts, equity, [10.0, -10.0, 30.0], 1000.0, 0.5)
    activity = AccountActivity(
        trade_pnls=[10.0, -10.0, 30.0],
        spans=[(ts[0], ts[1]), (ts[1], ts[2]), (ts[2], ts[4])],
        traded_notional=5100.0,
        invested=[True, True, False, False, True],
    )
    metrics = with_research_metrics(base, ts, equity, 1000.0, activity)
    returns = np.diff(np.concatenate(([1000.0], equity))) / np.concatenate(([1000.0], equity[:-1]))
    assert metrics.sharpe == base.sharpe
    assert metrics.omega == pytest.approx(empyrical.omega_ratio(returns, annualization=1))
    assert metrics.psr == pytest.approx(probabilistic_sharpe(SharpeSample.of(returns)))
    assert metrics.deflated_sharpe == metrics.psr
    assert metrics.max_holding_hours == pytest.approx(48.0)
    assert metrics.longest_flat_hours == pytest.approx(48.0)
    assert metrics.turnover == pytest.approx(5100.0 / equity.mean())
