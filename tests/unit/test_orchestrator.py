"""The orchestrator's specification: risk rules, the trading state machine and loss breaches."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flows.orchestrator
from flows.orchestrator import (
    APPROVED,
    RULE_ORDER,
    Breach,
    OrderIntent,
    RiskView,
    Transition,
    Verdict,
    apply_command,
    check_breach,
    decide,
    first_breach,
)
from schemas.common import Side, TradingStatus, to_epoch_ms
from schemas.config import ControlAction, RiskLimits, TradingHours

S = TradingStatus
A = ControlAction


def utc(text: str) -> int:
    """Event time (UTC ms) of an ISO-8601 UTC timestamp."""
    ms: int = to_epoch_ms(text)
    return ms


NOW = utc("2026-11-25T15:00:00Z")  # Wednesday, 10:00 in New York
OPENING_RULES = RULE_ORDER[3:]
EVERY_ORDER_RULES = RULE_ORDER[:3]

_VIEW_FIELDS = {f.name for f in fields(RiskView)}
_INTENT_FIELDS = {f.name for f in fields(OrderIntent)}


def no_limits(**overrides: Any) -> RiskLimits:
    """Every limit off (the defaults switch some on), then the overrides."""
    base: dict[str, Any] = {"max_open_positions": None, "trading_hours": None}
    return RiskLimits(**{**base, **overrides})


def scenario(**overrides: Any) -> tuple[RiskView, OrderIntent]:
    """A flat, running account and a 100-share opening buy of AAPL at 100.00, then overrides.

    Each override names a field of RiskView or of OrderIntent (their names do not overlap).
    """
    unknown = set(overrides) - _VIEW_FIELDS - _INTENT_FIELDS
    assert not unknown, f"not a field of RiskView or OrderIntent: {unknown}"
    view = RiskView(
        status=S.RUNNING,
        open_positions=0,
        instrument_quantity=0,
        symbol_quantity=0,
        symbol_notional=0.0,
        net_delta=0.0,
        net_vega=0.0,
        equity=100_000.0,
        day_start_equity=100_000.0,
        peak_equity=100_000.0,
        last_entry_ts=None,
        recent_order_ts=(),
        holds_same_direction=False,
    )
    intent = OrderIntent(
        ts=NOW,
        symbol="AAPL",
        instrument="AAPL",
        side=Side.BUY,
        quantity=100,
        price=100.0,
        multiplier=1,
        strength=1.0,
        opens=True,
        delta=100.0,
        vega=0.0,
    )
    view = replace(view, **{k: v for k, v in overrides.items() if k in _VIEW_FIELDS})
    intent = replace(intent, **{k: v for k, v in overrides.items() if k in _INTENT_FIELDS})
    return view, intent


# --- every rule at and just past its limit ---------------------------------------------------


@dataclass(frozen=True)
class LimitCase:
    rule: str
    limits: dict[str, Any]
    at: dict[str, Any]  # scenario overrides that land exactly on the limit
    past: dict[str, Any]  # scenario overrides just past it
    observed: float  # what the rejection reports
    limit: float
    shown: tuple[str, ...]  # what its reason must say


LIMIT_CASES = [
    LimitCase(
        "trading_hours",
        {"trading_hours": TradingHours()},
        {"ts": utc("2026-11-25T14:30:00Z")},
        {"ts": utc("2026-11-25T14:29:59.999Z")},
        9 * 60 + 29 + 59.999 / 60,
        570.0,
        ("local time 09:29:59.999 America/New_York", "open at 09:30:00.000"),
    ),
    LimitCase(
        "trading_hours",
        {"trading_hours": TradingHours()},
        {"ts": utc("2026-11-25T20:59:59.999Z")},
        {"ts": utc("2026-11-25T21:00:00Z")},
        960.0,
        960.0,
        ("local time 16:00:00.000 America/New_York", "close at 16:00:00.000"),
    ),
    LimitCase(
        "order_throttle",
        {"max_orders_per_minute": 3},
        {"recent_order_ts": (NOW - 59_999, NOW)},
        {"recent_order_ts": (NOW - 59_999, NOW - 30_000, NOW)},
        4.0,
        3.0,
        ("4 orders in the last 60 s", "max_orders_per_minute 3"),
    ),
    LimitCase(
        "min_strength",
        {"min_strength": 0.5},
        {"strength": 0.5},
        {"strength": 0.49},
        0.49,
        0.5,
        ("strength 0.49", "min_strength 0.50"),
    ),
    LimitCase(
        "cooldown",
        {"cooldown_seconds": 30},
        {"last_entry_ts": NOW - 30_000},
        {"last_entry_ts": NOW - 29_999},
        29.999,
        30.0,
        ("29.999 s since the last entry on AAPL", "cooldown_seconds 30.000"),
    ),
    LimitCase(
        "duplicate_entry",
        {"allow_duplicate_entry": False},
        {"holds_same_direction": False},
        {"holds_same_direction": True},
        1.0,
        0.0,
        ("position on AAPL in this direction", "allow_duplicate_entry is off"),
    ),
    LimitCase(
        "max_open_positions",
        {"max_open_positions": 3},
        {"open_positions": 2},
        {"open_positions": 3},
        4.0,
        3.0,
        ("4 open positions", "max_open_positions 3"),
    ),
    LimitCase(
        "max_order_quantity",
        {"max_order_quantity": 100},
        {"quantity": 100},
        {"quantity": 101},
        101.0,
        100.0,
        ("order quantity 101", "max_order_quantity 100"),
    ),
    LimitCase(
        "max_order_notional",
        {"max_order_notional": 10_000.0},
        {"quantity": 1, "price": 10_000.00},
        {"quantity": 1, "price": 10_000.01},
        10_000.01,
        10_000.0,
        ("order notional 10,000.01", "max_order_notional 10,000.00"),
    ),
    LimitCase(
        "max_symbol_quantity",
        {"max_symbol_quantity": 1_000},
        {"symbol_quantity": 900},
        {"symbol_quantity": 901},
        1_001.0,
        1_000.0,
        ("AAPL quantity after the order 1,001", "max_symbol_quantity 1,000"),
    ),
    LimitCase(
        "max_symbol_notional",
        {"max_symbol_notional": 50_000.0},
        {"symbol_notional": 40_000.0},
        {"symbol_notional": 40_000.01},
        50_000.01,
        50_000.0,
        ("AAPL notional after the order 50,000.01", "max_symbol_notional 50,000.00"),
    ),
    LimitCase(
        "max_abs_delta",
        {"max_abs_delta": 500.0},
        {"net_delta": 400.0},
        {"net_delta": 400.01},
        500.01,
        500.0,
        ("|net delta| after the order 500.01", "max_abs_delta 500.00"),
    ),
    LimitCase(
        "max_abs_vega",
        {"max_abs_vega": 2_000.0},
        {"net_vega": 1_500.0, "vega": 500.0},
        {"net_vega": 1_500.0, "vega": 500.01},
        2_000.01,
        2_000.0,
        ("|net vega| after the order 2,000.01", "max_abs_vega 2,000.00"),
    ),
]


def _case_id(case: LimitCase) -> str:
    return f"{case.rule}-{case.past.get('ts', '')}"


@pytest.mark.parametrize("case", LIMIT_CASES, ids=_case_id)
def test_every_rule_approves_at_its_limit(case: LimitCase) -> None:
    view, intent = scenario(**case.at)
    assert decide(view, intent, no_limits(**case.limits)) == APPROVED


@pytest.mark.parametrize("case", LIMIT_CASES, ids=_case_id)
def test_every_rule_rejects_just_past_its_limit_naming_rule_values_and_reason(
    case: LimitCase,
) -> None:
    view, intent = scenario(**case.past)
    verdict = decide(view, intent, no_limits(**case.limits))
    assert not verdict.approved
    assert verdict.rule == case.rule
    assert verdict.observed == pytest.approx(case.observed, rel=1e-12)
    assert verdict.limit == case.limit
    for text in case.shown:
        assert text in verdict.reason


def test_limit_table_covers_every_rule_but_the_trading_state() -> None:
    assert {case.rule for case in LIMIT_CASES} == set(RULE_ORDER) - {"trading_state"}


def test_approved_verdict_is_ok_with_zero_observed_and_limit() -> None:
    view, intent = scenario()
    verdict = decide(view, intent, no_limits())
    assert verdict == Verdict(approved=True, rule="ok", observed=0.0, limit=0.0, reason="approved")


def test_rule_names_are_snake_case_and_fit_the_decision_rule_column() -> None:
    for rule in (*RULE_ORDER, "ok", "max_daily_loss", "max_drawdown"):
        assert re.fullmatch(r"[a-z_]{1,40}", rule)


# --- trading state ---------------------------------------------------------------------------


@pytest.mark.parametrize("opens", [True, False])
def test_running_allows_opening_and_closing_orders(opens: bool) -> None:
    view, intent = scenario(status=S.RUNNING, opens=opens)
    assert decide(view, intent, no_limits()) == APPROVED


def test_reduce_only_allows_closing_orders() -> None:
    view, intent = scenario(status=S.REDUCE_ONLY, opens=False)
    assert decide(view, intent, no_limits()) == APPROVED


def test_reduce_only_rejects_opening_orders() -> None:
    view, intent = scenario(status=S.REDUCE_ONLY, opens=True)
    verdict = decide(view, intent, no_limits())
    assert (verdict.approved, verdict.rule, verdict.observed, verdict.limit) == (
        False,
        "trading_state",
        1.0,
        0.0,
    )
    assert "reduce_only" in verdict.reason
    assert "opens" in verdict.reason


@pytest.mark.parametrize("status", [S.PAUSED, S.STOPPED, S.HALTED])
@pytest.mark.parametrize("opens", [True, False])
def test_paused_stopped_and_halted_reject_every_order(status: TradingStatus, opens: bool) -> None:
    view, intent = scenario(status=status, opens=opens)
    verdict = decide(view, intent, no_limits())
    assert (verdict.approved, verdict.rule) == (False, "trading_state")
    assert verdict.observed == (1.0 if opens else 0.0)
    assert verdict.limit == -1.0
    assert f"status {status.value} accepts no orders" in verdict.reason


# --- closing orders --------------------------------------------------------------------------

# One tight setting per opening rule; together they make every opening rule as strict as it gets.
TIGHT: dict[str, dict[str, Any]] = {
    "min_strength": {"min_strength": 1.0},
    "cooldown": {"cooldown_seconds": 3_600},
    "duplicate_entry": {"allow_duplicate_entry": False},
    "max_open_positions": {"max_open_positions": 0},
    "max_order_quantity": {"max_order_quantity": 1},
    "max_order_notional": {"max_order_notional": 1.0},
    "max_symbol_quantity": {"max_symbol_quantity": 1},
    "max_symbol_notional": {"max_symbol_notional": 1.0},
    "max_abs_delta": {"max_abs_delta": 1.0},
    "max_abs_vega": {"max_abs_vega": 1.0},
}
EVERY_LIMIT_TIGHT = no_limits(**{k: v for tight in TIGHT.values() for k, v in tight.items()})
EVERY_OPENING_RULE_BREACHED = {
    "strength": 0.0,
    "last_entry_ts": NOW - 1,
    "holds_same_direction": True,
    "open_positions": 50,
    "quantity": 10_000,
    "symbol_quantity": 10_000,
    "symbol_notional": 1e6,
    "net_delta": 1e5,
    "delta": 1e4,
    "net_vega": 1e5,
    "vega": 1e4,
}


@pytest.mark.parametrize("rule", OPENING_RULES)
def test_the_tight_scenario_breaches_each_opening_rule_when_it_opens(rule: str) -> None:
    # Guards the next test: each tight limit on its own rejects the opening form of the scenario.
    assert set(TIGHT) == set(OPENING_RULES)
    view, intent = scenario(**EVERY_OPENING_RULE_BREACHED)
    loose = {"allow_duplicate_entry": True}
    assert decide(view, intent, no_limits(**{**loose, **TIGHT[rule]})).rule == rule


@pytest.mark.parametrize("status", [S.RUNNING, S.REDUCE_ONLY])
def test_closing_order_passes_every_size_greek_duplicate_strength_and_cooldown_rule(
    status: TradingStatus,
) -> None:
    view, intent = scenario(status=status, opens=False, **EVERY_OPENING_RULE_BREACHED)
    assert decide(view, intent, EVERY_LIMIT_TIGHT) == APPROVED


@pytest.mark.parametrize("case", [c for c in LIMIT_CASES if c.rule in OPENING_RULES], ids=_case_id)
def test_closing_order_just_past_an_opening_limit_is_approved(case: LimitCase) -> None:
    view, intent = scenario(opens=False, **case.past)
    assert decide(view, intent, no_limits(**case.limits)) == APPROVED


@pytest.mark.parametrize(
    "case", [c for c in LIMIT_CASES if c.rule in EVERY_ORDER_RULES], ids=_case_id
)
def test_closing_order_still_obeys_trading_hours_and_the_throttle(case: LimitCase) -> None:
    view, intent = scenario(opens=False, **case.past)
    verdict = decide(view, intent, no_limits(**case.limits))
    assert (verdict.approved, verdict.rule) == (False, case.rule)


# --- rule order ------------------------------------------------------------------------------


def test_first_failing_rule_decides_in_the_documented_order() -> None:
    limits = no_limits(
        trading_hours=TradingHours(),
        max_orders_per_minute=1,
        min_strength=0.9,
        cooldown_seconds=60,
        allow_duplicate_entry=False,
        max_open_positions=1,
        max_order_quantity=10,
        max_order_notional=100.0,
        max_symbol_quantity=10,
        max_symbol_notional=100.0,
        max_abs_delta=1.0,
        max_abs_vega=1.0,
    )
    view, intent = scenario(
        status=S.PAUSED,
        ts=utc("2026-11-28T15:00:00Z"),  # a Saturday
        recent_order_ts=(NOW - 1, utc("2026-11-28T15:00:00Z") - 1),  # full at either time
        strength=0.1,
        last_entry_ts=NOW - 1,
        holds_same_direction=True,
        open_positions=5,
        vega=10.0,
    )
    # Relax the failing rules one at a time; each step must expose the next rule in order.
    steps: list[tuple[str, str, str, Any]] = [
        ("trading_state", "view", "status", S.RUNNING),
        ("trading_hours", "intent", "ts", NOW),
        ("order_throttle", "view", "recent_order_ts", ()),
        ("min_strength", "intent", "strength", 1.0),
        ("cooldown", "view", "last_entry_ts", None),
        ("duplicate_entry", "view", "holds_same_direction", False),
        ("max_open_positions", "view", "open_positions", 0),
        ("max_order_quantity", "limits", "max_order_quantity", None),
        ("max_order_notional", "limits", "max_order_notional", None),
        ("max_symbol_quantity", "limits", "max_symbol_quantity", None),
        ("max_symbol_notional", "limits", "max_symbol_notional", None),
        ("max_abs_delta", "limits", "max_abs_delta", None),
        ("max_abs_vega", "limits", "max_abs_vega", None),
    ]
    assert tuple(step[0] for step in steps) == RULE_ORDER
    for rule, target, name, value in steps:
        assert decide(view, intent, limits).rule == rule
        if target == "view":
            view = replace(view, **{name: value})
        elif target == "intent":
            intent = replace(intent, **{name: value})
        else:
            limits = limits.model_copy(update={name: value})
    assert decide(view, intent, limits) == APPROVED


# --- individual rules in detail --------------------------------------------------------------


def test_order_throttle_counts_the_last_60_seconds_up_to_and_including_now() -> None:
    limits = no_limits(max_orders_per_minute=2)
    counted = (NOW - 59_999,)
    not_counted = (NOW - 60_000, NOW - 120_000, NOW + 1)
    view, intent = scenario(recent_order_ts=not_counted + counted)
    assert decide(view, intent, limits) == APPROVED
    view, intent = scenario(recent_order_ts=(*not_counted, *counted, NOW))
    verdict = decide(view, intent, limits)
    assert (verdict.rule, verdict.observed, verdict.limit) == ("order_throttle", 3.0, 2.0)


def test_order_throttle_of_one_allows_one_order_a_minute() -> None:
    limits = no_limits(max_orders_per_minute=1)
    assert decide(*scenario(), limits) == APPROVED
    assert decide(*scenario(recent_order_ts=(NOW - 59_000,)), limits).rule == "order_throttle"
    assert decide(*scenario(recent_order_ts=(NOW - 60_000,)), limits) == APPROVED


def test_cooldown_passes_without_a_previous_entry() -> None:
    assert decide(*scenario(last_entry_ts=None), no_limits(cooldown_seconds=3_600)) == APPROVED


def test_cooldown_of_zero_never_blocks() -> None:
    assert decide(*scenario(last_entry_ts=NOW), no_limits(cooldown_seconds=0)) == APPROVED


def test_duplicate_entry_is_approved_when_allowed() -> None:
    view, intent = scenario(holds_same_direction=True)
    assert decide(view, intent, no_limits(allow_duplicate_entry=True)) == APPROVED


def test_adding_to_an_instrument_already_held_does_not_count_as_a_new_position() -> None:
    limits = no_limits(max_open_positions=3)
    assert decide(*scenario(open_positions=3, instrument_quantity=5), limits) == APPROVED
    verdict = decide(*scenario(open_positions=3, instrument_quantity=0), limits)
    assert (verdict.rule, verdict.observed, verdict.limit) == ("max_open_positions", 4.0, 3.0)


def test_max_open_positions_of_zero_blocks_every_new_instrument() -> None:
    verdict = decide(*scenario(open_positions=0), no_limits(max_open_positions=0))
    assert (verdict.rule, verdict.observed, verdict.limit) == ("max_open_positions", 1.0, 0.0)


def test_order_notional_counts_the_option_multiplier() -> None:
    limits = no_limits(max_order_notional=10_000.0)
    option = {"instrument": "AAPL261218C00100000", "multiplier": 100, "quantity": 2}
    assert decide(*scenario(price=50.0, **option), limits) == APPROVED
    verdict = decide(*scenario(price=50.01, **option), limits)
    assert verdict.rule == "max_order_notional"
    assert verdict.observed == pytest.approx(10_002.0)


def test_symbol_notional_adds_the_order_notional_with_its_multiplier() -> None:
    limits = no_limits(max_symbol_notional=20_000.0)
    option = {"multiplier": 100, "quantity": 3, "price": 5.0}  # 1,500.00
    assert decide(*scenario(symbol_notional=18_500.0, **option), limits) == APPROVED
    verdict = decide(*scenario(symbol_notional=18_500.01, **option), limits)
    assert verdict.rule == "max_symbol_notional"


def test_limits_forgive_floating_point_noise_at_the_limit() -> None:
    # 3 x 10.05 is 30.150000000000002 in binary floating point: at the limit, not past it.
    assert 3 * 10.05 > 30.15
    view, intent = scenario(quantity=3, price=10.05)
    assert decide(view, intent, no_limits(max_order_notional=30.15)) == APPROVED


def test_a_rejection_a_fraction_of_a_cent_past_shows_enough_decimals_to_differ() -> None:
    view, intent = scenario(quantity=1, price=10_000.004)
    verdict = decide(view, intent, no_limits(max_order_notional=10_000.0))
    assert verdict.rule == "max_order_notional"
    assert "order notional 10,000.004 exceeds max_order_notional 10,000.000" in verdict.reason


def test_max_abs_delta_limits_short_exposure_too() -> None:
    limits = no_limits(max_abs_delta=500.0)
    assert decide(*scenario(net_delta=-400.0, delta=-100.0), limits) == APPROVED
    verdict = decide(*scenario(net_delta=-400.0, delta=-100.01), limits)
    assert verdict.rule == "max_abs_delta"
    assert verdict.observed == pytest.approx(500.01)


def test_greek_limits_judge_the_net_after_the_order_so_offsetting_orders_pass() -> None:
    # Already over the limit after a market move; an order that brings the net back under passes.
    limits = no_limits(max_abs_delta=500.0, max_abs_vega=1_000.0)
    view, intent = scenario(net_delta=600.0, delta=-200.0, net_vega=-1_200.0, vega=300.0)
    assert decide(view, intent, limits) == APPROVED


# --- trading hours ---------------------------------------------------------------------------

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
        ("2026-03-09T20:00:00Z", False, 16 * 60),
        ("2026-03-09T20:30:00Z", False, 16 * 60 + 30),
        # Friday 2026-10-30, still EDT: 13:30 UTC is the open, 20:00 UTC the close.
        ("2026-10-30T13:30:00Z", True, None),
        ("2026-10-30T20:00:00Z", False, 16 * 60),
        # Monday 2026-11-02, the first trading day back on EST: 13:30 UTC is 08:30 local.
        ("2026-11-02T13:30:00Z", False, 8 * 60 + 30),
        ("2026-11-02T14:30:00Z", True, None),
        ("2026-11-02T20:00:00Z", True, None),
        ("2026-11-02T20:59:59.999Z", True, None),
        ("2026-11-02T21:00:00Z", False, 16 * 60),
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
    expected = local.weekday() < 5 and hours.open <= local.time() < hours.close
    verdict = decide(*scenario(ts=ts), no_limits(trading_hours=hours))
    assert verdict.approved is expected
    assert verdict.rule in ("ok", "trading_hours")


# --- properties of decide --------------------------------------------------------------------

_money = st.floats(0, 1e7, allow_nan=False)
_signed = st.floats(-1e6, 1e6, allow_nan=False)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


risk_limits = st.builds(
    no_limits,
    min_strength=st.floats(0, 1),
    max_open_positions=_optional(st.integers(0, 20)),
    max_order_quantity=_optional(st.integers(1, 1_000)),
    max_order_notional=_optional(st.floats(1, 1e6)),
    max_symbol_quantity=_optional(st.integers(1, 2_000)),
    max_symbol_notional=_optional(st.floats(1, 1e7)),
    cooldown_seconds=st.integers(0, 3_600),
    max_abs_delta=_optional(st.floats(1, 1e5)),
    max_abs_vega=_optional(st.floats(1, 1e5)),
    allow_duplicate_entry=st.booleans(),
)

scenarios = st.fixed_dictionaries(
    {
        "open_positions": st.integers(0, 30),
        "instrument_quantity": st.integers(0, 1_000),
        "symbol_quantity": st.integers(0, 2_000),
        "symbol_notional": _money,
        "net_delta": _signed,
        "net_vega": _signed,
        "last_entry_ts": _optional(st.integers(NOW - 7_200_000, NOW)),
        "holds_same_direction": st.booleans(),
        "quantity": st.integers(1, 2_000),
        "price": st.floats(0.01, 1_000),
        "multiplier": st.sampled_from([1, 100]),
        "strength": st.floats(0, 1),
        "delta": _signed,
        "vega": _signed,
    }
)


@given(overrides=scenarios, limits=risk_limits, status=st.sampled_from([S.RUNNING, S.REDUCE_ONLY]))
def test_closing_orders_are_never_blocked_by_a_risk_limit(
    overrides: dict[str, Any], limits: RiskLimits, status: TradingStatus
) -> None:
    view, intent = scenario(status=status, opens=False, **overrides)
    assert decide(view, intent, limits) == APPROVED


@given(overrides=scenarios, limits=risk_limits)
def test_an_approved_opening_order_leaves_every_limit_respected(
    overrides: dict[str, Any], limits: RiskLimits
) -> None:
    view, intent = scenario(**overrides)
    verdict = decide(view, intent, limits)
    if verdict.approved:
        # The slack forgives the module's floating-point tolerance and nothing a limit could mean.
        assert all(respected(view, intent, limits, slack=1e-9).values())
    else:
        # The rule that rejected is genuinely broken, and every rule checked before it holds.
        assert not respected(view, intent, limits, slack=0.0)[verdict.rule]
        earlier = OPENING_RULES[: OPENING_RULES.index(verdict.rule)]
        assert all(respected(view, intent, limits, slack=1e-9)[rule] for rule in earlier)


def respected(
    view: RiskView, intent: OrderIntent, limits: RiskLimits, slack: float
) -> dict[str, bool]:
    """Each opening rule's condition, written from the specification, with a relative slack."""
    notional = intent.quantity * intent.price * intent.multiplier
    stretch = 1 + slack
    return {
        "min_strength": intent.strength >= limits.min_strength - slack,
        "cooldown": view.last_entry_ts is None
        or intent.ts - view.last_entry_ts >= limits.cooldown_seconds * 1000,
        "duplicate_entry": limits.allow_duplicate_entry or not view.holds_same_direction,
        "max_open_positions": limits.max_open_positions is None
        or view.instrument_quantity > 0
        or view.open_positions + 1 <= limits.max_open_positions,
        "max_order_quantity": limits.max_order_quantity is None
        or intent.quantity <= limits.max_order_quantity,
        "max_order_notional": limits.max_order_notional is None
        or notional <= limits.max_order_notional * stretch,
        "max_symbol_quantity": limits.max_symbol_quantity is None
        or view.symbol_quantity + intent.quantity <= limits.max_symbol_quantity,
        "max_symbol_notional": limits.max_symbol_notional is None
        or view.symbol_notional + notional <= limits.max_symbol_notional * stretch,
        "max_abs_delta": limits.max_abs_delta is None
        or abs(view.net_delta + intent.delta) <= limits.max_abs_delta * stretch,
        "max_abs_vega": limits.max_abs_vega is None
        or abs(view.net_vega + intent.vega) <= limits.max_abs_vega * stretch,
    }


# --- the trading state machine ---------------------------------------------------------------

REFUSED = None  # the command does not apply: not accepted, status unchanged
TRANSITIONS: dict[TradingStatus, dict[ControlAction, TradingStatus | None]] = {
    S.STOPPED: {
        A.START: S.RUNNING,
        A.STOP: S.STOPPED,
        A.PAUSE: REFUSED,
        A.RESUME: REFUSED,
        A.REDUCE_ONLY: REFUSED,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.STOPPED,
    },
    S.RUNNING: {
        A.START: REFUSED,
        A.STOP: S.STOPPED,
        A.PAUSE: S.PAUSED,
        A.RESUME: REFUSED,
        A.REDUCE_ONLY: S.REDUCE_ONLY,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.RUNNING,
    },
    S.PAUSED: {
        A.START: S.RUNNING,
        A.STOP: S.STOPPED,
        A.PAUSE: REFUSED,
        A.RESUME: S.RUNNING,
        A.REDUCE_ONLY: S.REDUCE_ONLY,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.PAUSED,
    },
    S.REDUCE_ONLY: {
        A.START: REFUSED,
        A.STOP: S.STOPPED,
        A.PAUSE: S.PAUSED,
        A.RESUME: S.RUNNING,
        A.REDUCE_ONLY: REFUSED,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.REDUCE_ONLY,
    },
    S.HALTED: {
        A.START: S.RUNNING,
        A.STOP: S.STOPPED,
        A.PAUSE: REFUSED,
        A.RESUME: REFUSED,
        A.REDUCE_ONLY: S.REDUCE_ONLY,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.HALTED,
    },
}


def test_transition_table_covers_every_status_and_command() -> None:
    assert set(TRANSITIONS) == set(TradingStatus)
    assert all(set(row) == set(ControlAction) for row in TRANSITIONS.values())


@pytest.mark.parametrize(
    ("status", "action"), list(itertools.product(TradingStatus, ControlAction))
)
def test_apply_command_follows_the_transition_table(
    status: TradingStatus, action: ControlAction
) -> None:
    expected = TRANSITIONS[status][action]
    transition = apply_command(status, action)
    if expected is None:
        assert (transition.status, transition.accepted) == (status, False)
        assert f"{action.value} does not apply while {status.value}" in transition.reason
    else:
        assert (transition.status, transition.accepted) == (expected, True)
        assert action.value in transition.reason


def test_module_docstring_documents_the_same_transition_table() -> None:
    doc = flows.orchestrator.__doc__ or ""
    header = re.search(r"^ *start +stop +pause.*$", doc, re.MULTILINE)
    assert header is not None
    actions = [ControlAction(name) for name in header.group().split()]
    rows = doc[header.end() :].strip().splitlines()[: len(TradingStatus)]
    documented = {
        S(cells[0]): {
            action: None if cell == "-" else S(cell)
            for action, cell in zip(actions, cells[1:], strict=True)
        }
        for cells in (row.split() for row in rows)
    }
    assert documented == TRANSITIONS


@pytest.mark.parametrize("status", list(TradingStatus))
def test_kill_switch_halts_from_every_state(status: TradingStatus) -> None:
    assert apply_command(status, A.KILL_SWITCH) == Transition(
        status=S.HALTED, accepted=True, reason=f"kill_switch: {status.value} -> halted"
    )


@pytest.mark.parametrize("status", list(TradingStatus))
def test_stop_is_accepted_from_every_state(status: TradingStatus) -> None:
    assert apply_command(status, A.STOP).status == S.STOPPED


def test_resume_while_running_is_not_accepted_and_says_why() -> None:
    transition = apply_command(S.RUNNING, A.RESUME)
    assert transition == Transition(
        status=S.RUNNING,
        accepted=False,
        reason="resume does not apply while running; it applies from paused, reduce_only",
    )


def test_start_rearms_a_halted_account_explicitly() -> None:
    transition = apply_command(S.HALTED, A.START)
    assert (transition.status, transition.accepted) == (S.RUNNING, True)
    assert "re-armed" in transition.reason


@pytest.mark.parametrize("status", list(TradingStatus))
def test_config_update_keeps_the_status(status: TradingStatus) -> None:
    assert apply_command(status, A.CONFIG_UPDATE) == Transition(
        status=status, accepted=True, reason=f"config_update: status stays {status.value}"
    )


def test_kill_switch_blocks_even_closing_orders_until_the_operator_restarts() -> None:
    halted = apply_command(S.RUNNING, A.KILL_SWITCH).status
    for opens in (True, False):
        assert decide(*scenario(status=halted, opens=opens), no_limits()).rule == "trading_state"
    rearmed = apply_command(halted, A.START).status
    assert decide(*scenario(status=rearmed), no_limits()) == APPROVED


# --- loss breaches ---------------------------------------------------------------------------


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
