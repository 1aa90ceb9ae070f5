"""The trading_hours rule: the exchange's local wall clock, weekends and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.trading.orchestrator import APPROVED, decide
from schemas.config import TradingHours
from tests.flows.trading.orchestrator.scenarios import no_limits, scenario, utc

NEW_YORK = no_limits(trading_hours=TradingHours())


@pytest.mark.parametrize(
    ("when", "approved", "observed"),
    [
        # Friday 2026-03-06, still EST (UTC-5): the open is 14:30 UTC.
        ("2026-03-06T14:30:00Z", True, None),
        ("2026-03-06T14:29:59.999Z", False, 9 * 60 + 29 + 59.999 / 60),
        ("2026-03-06T13:30:00Z", False, 8 * 60 + 30),
        # Monday 2026-03-09, the first trading day on EDT (UTC-4): the open is 13:30 UTC.
        ("2026-03-09T13:30:00Z", True, None),
        ("2026-03-09T13:29:59.999Z", False, 9 * 60 + 29 + 59.999 / 60),
        ("2026-03-09T19:59:59.999Z", True, None),
        ("2026-03-09T20:00:00Z", True, None),  # the close: the closing auction
        ("2026-03-09T20:00:00.001Z", False, 16 * 60 + 0.001 / 60),
        ("2026-03-09T20:30:00Z", False, 16 * 60 + 30),
        # Friday 2026-10-30, still EDT: 13:30 UTC is the open, 20:00 UTC the close.
        ("2026-10-30T13:30:00Z", True, None),
        ("2026-10-30T20:00:00.001Z", False, 16 * 60 + 0.001 / 60),
        # Monday 2026-11-02, the first trading day back on EST: 13:30 UTC is 08:30 local.
        ("2026-11-02T13:30:00Z", False, 8 * 60 + 30),
        ("2026-11-02T14:30:00Z", True, None),
        ("2026-11-02T20:00:00Z", True, None),
        ("2026-11-02T20:59:59.999Z", True, None),
        ("2026-11-02T21:00:00Z", True, None),
        ("2026-11-02T21:00:01Z", False, 16 * 60 + 1 / 60),
    ],
)
def test_trading_hours_follow_new_york_daylight_saving(
    when: str, approved: bool, observed: float | None
) -> None:
    verdict = decide(*scenario(ts=utc(when)), NEW_YORK)
    assert verdict.approved is approved
    if observed is not None:
        assert verdict.rule == "trading_hours"
        assert verdict.observed == pytest.approx(observed, rel=1e-12)
        assert verdict.limit in (570.0, 960.0)


@pytest.mark.parametrize(
    ("when", "weekday", "name"),
    [("2026-11-28T15:00:00Z", 6, "Saturday"), ("2026-11-29T15:00:00Z", 7, "Sunday")],
)
def test_trading_hours_reject_weekends(when: str, weekday: int, name: str) -> None:
    verdict = decide(*scenario(ts=utc(when)), NEW_YORK)
    assert (verdict.rule, verdict.observed, verdict.limit) == ("trading_hours", weekday, 5.0)
    assert name in verdict.reason
    assert "Monday to Friday" in verdict.reason


def test_trading_hours_judge_the_weekday_on_the_local_clock_not_utc() -> None:
    # Saturday 01:00 UTC is Friday 20:00 in New York: after the close, not a weekend.
    friday_evening = decide(*scenario(ts=utc("2026-11-28T01:00:00Z")), NEW_YORK)
    assert (friday_evening.observed, friday_evening.limit) == (20 * 60, 960.0)
    # Monday 00:30 UTC is Sunday 19:30 in New York: a weekend.
    sunday_evening = decide(*scenario(ts=utc("2026-11-30T00:30:00Z")), NEW_YORK)
    assert (sunday_evening.observed, sunday_evening.limit) == (7.0, 5.0)


def test_trading_hours_in_other_zones_and_sessions() -> None:
    tokyo = no_limits(
        trading_hours=TradingHours(timezone="Asia/Tokyo", open=time(9, 0), close=time(15, 0))
    )
    assert decide(*scenario(ts=utc("2026-11-25T00:00:00Z")), tokyo) == APPROVED
    assert decide(*scenario(ts=utc("2026-11-24T23:59:59.999Z")), tokyo).rule == "trading_hours"
    mumbai = no_limits(
        trading_hours=TradingHours(timezone="Asia/Kolkata", open=time(9, 15), close=time(15, 30))
    )
    assert decide(*scenario(ts=utc("2026-11-25T03:45:00Z")), mumbai) == APPROVED
    verdict = decide(*scenario(ts=utc("2026-11-25T03:44:59.999Z")), mumbai)
    assert verdict.limit == 9 * 60 + 15


def test_trading_hours_compare_an_open_with_sub_millisecond_precision_exactly() -> None:
    hours = TradingHours(open=time(9, 30, 0, 500), close=time(16, 0))
    verdict = decide(*scenario(ts=utc("2026-11-25T14:30:00Z")), no_limits(trading_hours=hours))
    assert verdict.rule == "trading_hours"
    assert "open at 09:30:00.000500" in verdict.reason
    later = decide(*scenario(ts=utc("2026-11-25T14:30:00.001Z")), no_limits(trading_hours=hours))
    assert later == APPROVED


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONES = ["America/New_York", "Europe/London", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney"]


@st.composite
def sessions(draw: st.DrawFn) -> TradingHours:
    open_, close = sorted(draw(st.lists(st.times(), min_size=2, max_size=2, unique=True)))
    return TradingHours(timezone=draw(st.sampled_from(_ZONES)), open=open_, close=close)


@given(
    ts=st.integers(utc("2000-01-01T00:00:00Z"), utc("2099-12-31T00:00:00Z")),
    hours=sessions(),
)
def test_trading_hours_agree_with_the_local_wall_clock(ts: int, hours: TradingHours) -> None:
    local = (_EPOCH + timedelta(milliseconds=ts)).astimezone(ZoneInfo(hours.timezone))
    expected = local.weekday() < 5 and hours.open <= local.time() <= hours.close
    verdict = decide(*scenario(ts=ts), no_limits(trading_hours=hours))
    assert verdict.approved is expected
    assert verdict.rule in ("ok", "trading_hours")
