"""The risk rules of `decide`: each at and past its limit, closing orders, and rule order."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import pytest

from flows.trading.orchestrator import APPROVED, RULE_ORDER, Verdict, decide
from schemas.common import TradingStatus
from schemas.config import Guards, TradingHours
from tests.flows.trading.orchestrator.scenarios import (
    ALL_GUARDS,
    EVERY_ORDER_RULES,
    NOW,
    OPENING_RULES,
    S,
    lock,
    no_limits,
    scenario,
    share_book,
    utc,
)

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
        {"ts": utc("2026-11-25T21:00:00Z")},  # the close itself: the closing auction
        {"ts": utc("2026-11-25T21:00:00.001Z")},
        960.0 + 0.001 / 60,
        960.0,
        ("local time 16:00:00.001 America/New_York", "after the close at 16:00:00.000"),
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
    # A lock is lifted exactly at its end: at = the order lands on `until`, past = 1 ms before.
    LimitCase(
        "loss_cooldown",
        {"guards": Guards(loss_cooldown_seconds=300)},
        {"locks": (lock("loss_cooldown", start=NOW - 300_000, until=NOW),)},
        {"locks": (lock("loss_cooldown", start=NOW - 299_999, until=NOW + 1),)},
        299.999,
        300.0,
        ("symbol AAPL locked by loss_cooldown for 0.001 s more", "loss_cooldown triggered"),
    ),
    LimitCase(
        "loss_streak",
        {"guards": Guards(loss_streak=ALL_GUARDS.loss_streak)},
        {"locks": (lock("loss_streak", "", start=NOW - 900_000, until=NOW),)},
        {"locks": (lock("loss_streak", "", start=NOW - 899_999, until=NOW + 1),)},
        899.999,
        900.0,
        ("the account locked by loss_streak for 0.001 s more",),
    ),
    LimitCase(
        "window_drawdown",
        {"guards": Guards(window_drawdown=ALL_GUARDS.window_drawdown)},
        {"locks": (lock("window_drawdown", "", start=NOW - 1_800_000, until=NOW),)},
        {"locks": (lock("window_drawdown", "", start=NOW - 1_799_999, until=NOW + 1),)},
        1_799.999,
        1_800.0,
        ("the account locked by window_drawdown for 0.001 s more",),
    ),
    LimitCase(
        "low_performance",
        {"guards": Guards(low_performance=ALL_GUARDS.low_performance)},
        {"locks": (lock("low_performance", start=NOW - 3_600_000, until=NOW),)},
        {"locks": (lock("low_performance", start=NOW - 3_599_999, until=NOW + 1),)},
        3_599.999,
        3_600.0,
        ("symbol AAPL locked by low_performance for 0.001 s more",),
    ),
    # 100 shares long after the order, spot -10 %: a loss of 10 x spot.
    LimitCase(
        "max_scenario_loss",
        {"max_scenario_loss": 1_000.0, "scenario_spot_pct": [0.10], "scenario_vol_points": []},
        {"scenario": share_book(("AAPL", 100.0, 100.0))},
        {"scenario": share_book(("AAPL", 100.0001, 100.0))},
        1_000.001,
        1_000.0,
        (
            "worst scenario loss after the order 1,000.001 (spot AAPL -10.0%, vol +0.0 points)",
            "max_scenario_loss 1,000.000",
        ),
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
    "loss_cooldown": {"guards": Guards(loss_cooldown_seconds=ALL_GUARDS.loss_cooldown_seconds)},
    "loss_streak": {"guards": Guards(loss_streak=ALL_GUARDS.loss_streak)},
    "window_drawdown": {"guards": Guards(window_drawdown=ALL_GUARDS.window_drawdown)},
    "low_performance": {"guards": Guards(low_performance=ALL_GUARDS.low_performance)},
    "max_scenario_loss": {"max_scenario_loss": 1.0},
}
EVERY_LIMIT_TIGHT = no_limits(
    **{k: v for tight in TIGHT.values() for k, v in tight.items() if k != "guards"},
    guards=ALL_GUARDS,
)
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
    "locks": (
        lock("loss_cooldown", start=NOW - 1, until=NOW + 1),
        lock("loss_streak", "", start=NOW - 1, until=NOW + 1),
        lock("window_drawdown", "", start=NOW - 1, until=NOW + 1),
        lock("low_performance", start=NOW - 1, until=NOW + 1),
    ),
    "scenario": share_book(("AAPL", 100.0, 10_000.0)),
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


def _off(count: int) -> dict[str, None]:
    """The first `count` guards (in rule order) switched off."""
    names = ["loss_cooldown_seconds", "loss_streak", "window_drawdown", "low_performance"]
    return dict.fromkeys(names[:count])


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
        guards=ALL_GUARDS,
        max_scenario_loss=1.0,
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
        locks=EVERY_OPENING_RULE_BREACHED["locks"],
        scenario=EVERY_OPENING_RULE_BREACHED["scenario"],
    )
    # Relax the failing rules one at a time; each step must expose the next rule in order.
    steps: list[tuple[str, str, str, Any]] = [
        ("trading_state", "view", "status", S.RUNNING),
        ("trading_hours", "intent", "ts", NOW),
        ("order_throttle", "view", "recent_order_ts", ()),
        ("min_strength", "intent", "strength", 1.0),
        ("cooldown", "view", "last_entry_ts", None),
        ("loss_cooldown", "limits", "guards", ALL_GUARDS.model_copy(update=_off(1))),
        ("loss_streak", "limits", "guards", ALL_GUARDS.model_copy(update=_off(2))),
        ("window_drawdown", "limits", "guards", ALL_GUARDS.model_copy(update=_off(3))),
        ("low_performance", "limits", "guards", Guards()),
        ("duplicate_entry", "view", "holds_same_direction", False),
        ("max_open_positions", "view", "open_positions", 0),
        ("max_order_quantity", "limits", "max_order_quantity", None),
        ("max_order_notional", "limits", "max_order_notional", None),
        ("max_symbol_quantity", "limits", "max_symbol_quantity", None),
        ("max_symbol_notional", "limits", "max_symbol_notional", None),
        ("max_abs_delta", "limits", "max_abs_delta", None),
        ("max_abs_vega", "limits", "max_abs_vega", None),
        ("max_scenario_loss", "limits", "max_scenario_loss", None),
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
