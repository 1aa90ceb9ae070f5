"""Loss-limit breaches: daily loss and drawdown, one equity at a time and in bulk."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.orchestrator import Breach, check_breach, first_breach
from schemas.config import RiskLimits
from tests.flows.trading.orchestrator.scenarios import no_limits


def test_daily_loss_at_the_limit_is_not_a_breach() -> None:
    assert check_breach(99_000.0, 100_000.0, 100_000.0, no_limits(max_daily_loss=1_000.0)) is None


def test_daily_loss_a_cent_past_the_limit_is_a_breach() -> None:
    breach = check_breach(98_999.99, 100_000.0, 100_000.0, no_limits(max_daily_loss=1_000.0))
    assert breach is not None
    assert (breach.rule, breach.limit) == ("max_daily_loss", 1_000.0)
    assert breach.observed == pytest.approx(1_000.01)
    assert breach.reason == "daily loss 1,000.01 exceeds max_daily_loss 1,000.00"


def test_drawdown_at_the_limit_is_not_a_breach() -> None:
    assert check_breach(80.0, 100.0, 100.0, no_limits(max_drawdown=0.2)) is None


def test_drawdown_past_the_limit_is_a_breach() -> None:
    breach = check_breach(79.99, 100.0, 100.0, no_limits(max_drawdown=0.2))
    assert breach is not None
    assert (breach.rule, breach.limit) == ("max_drawdown", 0.2)
    assert breach.observed == pytest.approx(0.2001)
    assert breach.reason == "drawdown 20.01% exceeds max_drawdown 20.00%"


def test_drawdown_forgives_floating_point_noise_at_the_limit() -> None:
    assert 1 - 70.0 / 100.0 > 0.3
    assert check_breach(70.0, 100.0, 100.0, no_limits(max_drawdown=0.3)) is None


def test_daily_loss_is_reported_before_drawdown() -> None:
    breach = check_breach(50.0, 100.0, 100.0, no_limits(max_daily_loss=10.0, max_drawdown=0.1))
    assert breach is not None
    assert breach.rule == "max_daily_loss"


def test_gains_and_switched_off_limits_never_breach() -> None:
    assert (
        check_breach(110.0, 100.0, 110.0, no_limits(max_daily_loss=1.0, max_drawdown=0.01)) is None
    )
    assert check_breach(110.0, 100.0, 110.0, no_limits(max_daily_loss=1.0)) is None
    assert check_breach(1.0, 100.0, 100.0, no_limits()) is None


def _array(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_first_breach_returns_the_first_breaching_index_not_the_worst() -> None:
    limits = no_limits(max_daily_loss=100.0)
    equity = _array(1_000.0, 899.0, 500.0)
    found = first_breach(equity, _array(1_000.0, 1_000.0, 1_000.0), 1_000.0, limits)
    assert found is not None
    index, breach = found
    assert index == 1
    assert breach == Breach(
        rule="max_daily_loss",
        observed=101.0,
        limit=100.0,
        reason="daily loss 101.00 exceeds max_daily_loss 100.00",
    )


def test_first_breach_measures_drawdown_from_the_peak_inside_the_array() -> None:
    limits = no_limits(max_drawdown=0.15)
    found = first_breach(_array(100.0, 120.0, 101.0), _array(100.0, 100.0, 100.0), 100.0, limits)
    assert found is not None
    index, breach = found
    assert (index, breach.rule) == (2, "max_drawdown")
    assert breach.observed == pytest.approx(1 - 101 / 120)


def test_first_breach_starts_from_the_peak_before_the_array() -> None:
    limits = no_limits(max_drawdown=0.15)
    found = first_breach(_array(90.0, 84.0), _array(90.0, 90.0), 100.0, limits)
    assert found is not None
    assert found[0] == 1
    assert found[1].observed == pytest.approx(0.16)


def test_first_breach_measures_daily_loss_from_each_elements_own_day() -> None:
    limits = no_limits(max_daily_loss=1_000.0)
    equity = _array(99_500.0, 98_900.0)
    # Across a day change the loss restarts from the new day's start: 500, then 600.
    assert first_breach(equity, _array(100_000.0, 99_500.0), 100_000.0, limits) is None
    # The same equity within one day loses 1,100 by the second element.
    found = first_breach(equity, _array(100_000.0, 100_000.0), 100_000.0, limits)
    assert found is not None
    assert found[0] == 1


def test_first_breach_forgives_floating_point_noise_like_check_breach() -> None:
    # 100,000.00 - 98,000.01 is 1999.9900000000052 in binary floating point: at the limit.
    assert 100_000.0 - 98_000.01 > 1_999.99
    limits = no_limits(max_daily_loss=1_999.99)
    assert check_breach(98_000.01, 100_000.0, 100_000.0, limits) is None
    assert first_breach(_array(98_000.01), _array(100_000.0), 100_000.0, limits) is None
    # 1 - 70 / 100 is 0.30000000000000004: at a 30 % drawdown limit, not past it.
    limits = no_limits(max_drawdown=0.3)
    assert first_breach(_array(100.0, 70.0), _array(100.0, 100.0), 100.0, limits) is None


def test_first_breach_reports_daily_loss_when_both_breach_at_the_same_index() -> None:
    limits = no_limits(max_daily_loss=10.0, max_drawdown=0.1)
    found = first_breach(_array(100.0, 50.0), _array(100.0, 100.0), 100.0, limits)
    assert found is not None
    assert (found[0], found[1].rule) == (1, "max_daily_loss")


def test_first_breach_of_nothing_is_none() -> None:
    limits = no_limits(max_daily_loss=1.0, max_drawdown=0.01)
    assert first_breach(_array(), _array(), 100.0, limits) is None
    assert first_breach(_array(1.0), _array(100.0), 100.0, no_limits()) is None


def test_first_breach_refuses_arrays_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        first_breach(_array(1.0, 2.0), _array(1.0), 1.0, no_limits(max_daily_loss=1.0))


_cents = st.integers(1, 20_000_000).map(lambda cents: cents / 100)
_any_equity = _cents | st.floats(-1e5, 1e6, allow_nan=False)


@st.composite
def marked_days(draw: st.DrawFn) -> tuple[list[float], list[float], float, RiskLimits]:
    """Equity marks over one or more days, and limits often exactly at an observed value."""
    equity: list[float] = []
    day_start: list[float] = []
    for _day in range(draw(st.integers(1, 4))):
        start = draw(_cents)
        marks = draw(st.lists(_any_equity, min_size=0, max_size=15))
        equity += marks
        day_start += [start] * len(marks)
    peak_before = draw(_cents)
    losses = [s - e for s, e in zip(day_start, equity, strict=True) if s - e > 0]
    peak, drawdowns = peak_before, []
    for e in equity:
        peak = max(peak, e)
        if 0 < 1 - e / peak < 1:
            drawdowns.append(1 - e / peak)
    # Limits exactly at an observed value, and at that value rounded to cents (or basis points),
    # which is where floating-point noise decides between "at" and "past" the limit.
    loss_at = [*losses, *(round(x, 2) for x in losses if round(x, 2) > 0)]
    drawdown_at = [*drawdowns, *(round(x, 4) for x in drawdowns if 0 < round(x, 4) < 1)]
    max_loss = draw(
        st.none() | st.floats(0.01, 1e6) | (st.sampled_from(loss_at) if loss_at else st.none())
    )
    max_dd = draw(
        st.none()
        | st.floats(0.001, 0.999)
        | (st.sampled_from(drawdown_at) if drawdown_at else st.none())
    )
    limits = no_limits(max_daily_loss=max_loss, max_drawdown=max_dd)
    return equity, day_start, peak_before, limits


@settings(max_examples=400)
@given(case=marked_days())
def test_first_breach_agrees_with_check_breach_element_by_element(
    case: tuple[list[float], list[float], float, RiskLimits],
) -> None:
    equity, day_start, peak_before, limits = case
    expected = None
    peak = peak_before
    for index, (mark, start) in enumerate(zip(equity, day_start, strict=True)):
        peak = max(peak, mark)
        breach = check_breach(mark, start, peak, limits)
        if breach is not None:
            expected = (index, breach)
            break
    assert first_breach(_array(*equity), _array(*day_start), peak_before, limits) == expected
