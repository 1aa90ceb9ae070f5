"""Post-trade guards and the shock-scenario rule in the account stage over a simulated session:
locks that refuse openings with their rule and raise an alert when they start, worst-scenario
losses on the snapshots, and every output the same for batch cuts of 1, 7 and 1000."""

from __future__ import annotations

import json
from datetime import date

import pytest

from schemas.config import (
    AlgorithmConfig,
    BollingerBreakout,
    Guards,
    InstrumentSelection,
    LossStreak,
    LowPerformance,
    MovingAverageCross,
    RiskLimits,
    Sizing,
    WindowDrawdown,
)
from tests.pipeline import run, session

GUARDS = Guards(
    loss_cooldown_seconds=1_800,
    loss_streak=LossStreak(count=2, window_seconds=3_600, lock_seconds=1_800, scope="account"),
    window_drawdown=WindowDrawdown(max_drawdown=0.0005, window_seconds=600, lock_seconds=900),
    low_performance=LowPerformance(trades=2, max_loss=0.0, lock_seconds=3_600),
)
CONFIGS = [
    AlgorithmConfig(
        account_id="guarded",
        symbols=["AAPL", "SPY"],
        strategy=MovingAverageCross(fast=5, slow=20),
        sizing=Sizing(method="equity_fraction", fraction=0.5),
        limits=RiskLimits(guards=GUARDS),
    ),
    AlgorithmConfig(
        account_id="shocked",
        symbols=["AAPL", "NVDA"],
        strategy=BollingerBreakout(period=20, width=1.5, allow_short=True),
        selection=InstrumentSelection(kind="option", target_delta=0.4, days_to_expiry=7),
        sizing=Sizing(quantity=3),
        limits=RiskLimits(max_scenario_loss=1_200.0),
    ),
]
GUARD_RULES = {"loss_cooldown", "loss_streak", "window_drawdown", "low_performance"}


@pytest.fixture(scope="module")
def ticks():  # type: ignore[no-untyped-def]
    return session(["AAPL", "NVDA", "SPY"], date(2026, 11, 25))


@pytest.fixture(scope="module")
def reference(ticks) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return run(ticks, CONFIGS, batch_size=1000, seed=1)


def rows(reference: dict[str, list[str]], kind: str) -> list[dict[str, object]]:
    return [json.loads(row) for row in reference[kind]]


def test_every_guard_locks_with_an_alert_and_refuses_openings_with_its_rule(
    reference: dict[str, list[str]],
) -> None:
    decisions = rows(reference, "decisions")
    refused = [d for d in decisions if d["account_id"] == "guarded" and not d["approved"]]
    assert {d["rule"] for d in refused} == GUARD_RULES
    alerts = [a for a in rows(reference, "alerts") if a["account_id"] == "guarded"]
    assert {a["kind"] for a in alerts} == GUARD_RULES
    for decision in refused:
        # Some lock of the rule started before it and had not been lifted yet.
        started = [a for a in alerts if a["kind"] == decision["rule"] and a["ts"] <= decision["ts"]]
        assert started, decision
        assert "locked by" in str(decision["reason"])
        assert 0 <= float(decision["observed"]) < float(decision["limit"])  # type: ignore[arg-type]


def test_the_scenario_rule_refuses_openings_past_the_budget_and_snapshots_carry_the_loss(
    reference: dict[str, list[str]],
) -> None:
    decisions = [d for d in rows(reference, "decisions") if d["account_id"] == "shocked"]
    refused = [d for d in decisions if not d["approved"]]
    assert refused
    assert {d["rule"] for d in refused} == {"max_scenario_loss"}
    assert all(float(d["observed"]) > 1_200.0 for d in refused)  # type: ignore[arg-type]
    assert all("spot AAPL" in str(d["reason"]) or "spot NVDA" in str(d["reason"]) for d in refused)
    snapshots = rows(reference, "snapshots")
    shocked = [s for s in snapshots if s["account_id"] == "shocked"]
    assert any(float(s["scenario_loss"]) > 0 for s in shocked if s["instrument"] == "")  # type: ignore[arg-type]
    # The rule is off for the other account: its snapshots carry 0.
    assert {s["scenario_loss"] for s in snapshots if s["account_id"] == "guarded"} == {0.0}


@pytest.mark.parametrize(("batch_size", "seed"), [(1, 2), (7, 3), (1000, 4)])
def test_guard_and_scenario_outputs_do_not_depend_on_batch_cuts(
    ticks,  # type: ignore[no-untyped-def]
    reference: dict[str, list[str]],
    batch_size: int,
    seed: int,
) -> None:
    assert run(ticks, CONFIGS, batch_size=batch_size, seed=seed) == reference
