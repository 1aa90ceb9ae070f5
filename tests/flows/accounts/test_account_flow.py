"""The account stage over simulated sessions: outputs independent of batch cuts and arrival
order, halts that stop trading, options that expire, commands that steer."""

from __future__ import annotations

import json
from datetime import date

import pytest

from schemas.common import OrderType
from schemas.config import (
    AlgorithmConfig,
    BollingerBreakout,
    ControlCommand,
    Costs,
    InstrumentSelection,
    MovingAverageCross,
    RiskLimits,
    RsiReversion,
    Sizing,
    VolatilityPremium,
)
from tests.pipeline import run, session

FRIDAY = date(2026, 11, 27)  # weekly options expire at today's close
SYMBOLS = ["AAPL", "NVDA", "SPY"]

CONFIGS = [
    AlgorithmConfig(
        account_id="trend-limit",
        symbols=["AAPL", "SPY"],
        strategy=MovingAverageCross(fast=5, slow=20),
        costs=Costs(order_type=OrderType.LIMIT, limit_offset_bps=1.0, limit_ttl_seconds=120),
        limits=RiskLimits(cooldown_seconds=60, max_orders_per_minute=3),
    ),
    AlgorithmConfig(
        account_id="breakout-0dte",
        symbols=["AAPL", "NVDA"],
        strategy=BollingerBreakout(period=20, width=1.5, allow_short=True),
        selection=InstrumentSelection(kind="option", target_delta=0.4, days_to_expiry=0),
        sizing=Sizing(quantity=3),
        limits=RiskLimits(max_abs_delta=500),
    ),
    AlgorithmConfig(
        account_id="premium",
        symbols=["NVDA", "SPY"],
        strategy=VolatilityPremium(
            realised_window=30, threshold=0.02, exit_threshold=0.01, ticks_per_year=252 * 390 * 5
        ),
        selection=InstrumentSelection(kind="option", target_delta=0.2, days_to_expiry=7),
        sizing=Sizing(quantity=2),
    ),
    AlgorithmConfig(
        account_id="fragile",
        symbols=["SPY"],
        strategy=RsiReversion(period=5, oversold=35, overbought=65),
        sizing=Sizing(method="equity_fraction", fraction=0.9),
        limits=RiskLimits(max_daily_loss=40.0),
    ),
]


@pytest.fixture(scope="module")
def ticks():  # type: ignore[no-untyped-def]
    return session(SYMBOLS, FRIDAY)


@pytest.fixture(scope="module")
def reference(ticks) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return run(ticks, CONFIGS, batch_size=1000, seed=1)


def rows(reference: dict[str, list[str]], kind: str) -> list[dict[str, object]]:
    return [json.loads(row) for row in reference[kind]]


def test_the_reference_run_exercises_every_path(reference: dict[str, list[str]]) -> None:
    fills = rows(reference, "fills")
    reasons = {fill["reason"] for fill in fills}
    assert {"signal", "limit", "expiry"} <= reasons, reasons
    assert {fill["asset_class"] for fill in fills} == {"equity", "option"}
    alerts = {alert["kind"] for alert in rows(reference, "alerts")}
    assert "max_daily_loss" in alerts
    assert {d["rule"] for d in rows(reference, "decisions") if not d["approved"]} >= {
        "cooldown",
        "trading_state",
    }
    assert reference["snapshots"]
    assert reference["daily"]
    assert reference["states"]


@pytest.mark.parametrize(("batch_size", "seed"), [(1, 2), (7, 3), (1000, 4)])
def test_outputs_do_not_depend_on_batch_cuts_or_arrival_order(
    ticks,
    reference: dict[str, list[str]],
    batch_size: int,
    seed: int,  # type: ignore[no-untyped-def]
) -> None:
    assert run(ticks, CONFIGS, batch_size=batch_size, seed=seed) == reference


def test_a_loss_breach_halts_the_account_and_refuses_every_later_order(
    reference: dict[str, list[str]],
) -> None:
    breach = next(a for a in rows(reference, "alerts") if a["kind"] == "max_daily_loss")
    assert breach["account_id"] == "fragile"
    later = [
        d
        for d in rows(reference, "decisions")
        if d["account_id"] == "fragile" and d["ts"] > breach["ts"]
    ]
    assert later, "the test needs signals after the breach"
    assert all(not d["approved"] and d["rule"] == "trading_state" for d in later)
    assert not [
        f
        for f in rows(reference, "fills")
        if f["account_id"] == "fragile" and f["ts"] > breach["ts"]
    ]


def test_options_expire_at_the_close_at_intrinsic_value(reference: dict[str, list[str]]) -> None:
    expiries = [f for f in rows(reference, "fills") if f["reason"] == "expiry"]
    assert expiries
    for fill in expiries:
        assert fill["commission"] == 0.0
        assert fill["price"] >= 0.0
        assert fill["instrument"].startswith(("AAPL", "NVDA", "SPY"))


def test_kill_switch_halts_before_the_next_fill(ticks) -> None:  # type: ignore[no-untyped-def]
    kill = ControlCommand(
        command_id="kill-1",
        account_id="trend-limit",
        ts=1_795_000_000_000,
        action="kill_switch",  # type: ignore[arg-type]
        reason="operator",
    )
    out = run(ticks, CONFIGS[:1], batch_size=50, seed=5, commands=[(40, kill)])
    states = rows(out, "states")
    halted = next(s for s in states if s["status"] == "halted")
    assert halted["command_id"] == "kill-1"
    # the position held then is flattened at the command's time, and the halt records it flat
    flattened = [f for f in rows(out, "fills") if f["ts"] == halted["ts"]]
    assert flattened
    assert {f["exit_reason"] for f in flattened} == {"kill_switch"}
    assert halted["open_positions"] == 0
    assert not [f for f in rows(out, "fills") if f["ts"] > halted["ts"]]
    after = [d for d in rows(out, "decisions") if d["ts"] > halted["ts"]]
    assert after
    assert all(d["rule"] == "trading_state" for d in after)
    assert any(a["kind"] == "kill_switch" for a in rows(out, "alerts"))


def test_a_config_update_for_a_new_account_waits_for_start(ticks) -> None:  # type: ignore[no-untyped-def]
    config = CONFIGS[0].model_copy(update={"account_id": "newcomer"})
    update = ControlCommand(
        command_id="cfg-1",
        account_id="newcomer",
        ts=1_795_000_000_000,
        action="config_update",  # type: ignore[arg-type]
        config=config,
    )
    start = ControlCommand(
        command_id="go-1",
        account_id="newcomer",
        ts=1_795_000_000_001,
        action="start",  # type: ignore[arg-type]
    )
    out = run(ticks, [], batch_size=50, seed=6, commands=[(1, update), (30, start)])
    states = sorted(rows(out, "states"), key=lambda s: s["version"])
    assert states[0]["status"] == "stopped"
    running = next(s for s in states if s["status"] == "running")
    approved = [d for d in rows(out, "decisions") if d["approved"]]
    assert approved
    assert all(d["ts"] >= running["ts"] for d in approved)


def test_a_config_update_that_adds_a_symbol_trades_it_from_then_on(ticks) -> None:  # type: ignore[no-untyped-def]
    config = CONFIGS[0].model_copy(update={"account_id": "grower", "symbols": ["AAPL"]})
    grown = config.model_copy(update={"version": 2, "symbols": ["AAPL", "NVDA"]})
    update = ControlCommand(
        command_id="cfg-2",
        account_id="grower",
        ts=1_795_000_000_000,
        action="config_update",  # type: ignore[arg-type]
        config=grown,
    )
    out = run(ticks, [config], batch_size=50, seed=8, commands=[(40, update)])
    signals = rows(out, "signals")
    first_nvda = min(s["ts"] for s in signals if s["symbol"] == "NVDA")
    assert any(s["symbol"] == "AAPL" and s["ts"] < first_nvda for s in signals)
    assert {s["config_version"] for s in signals if s["symbol"] == "NVDA"} == {2}


def test_a_disabled_config_stops_the_account_and_refuses_a_start(ticks) -> None:  # type: ignore[no-untyped-def]
    config = CONFIGS[0]
    disabled = config.model_copy(update={"version": 2, "enabled": False})
    commands = [
        (
            20,
            ControlCommand(
                command_id="off",
                account_id=config.account_id,
                ts=1_795_000_000_000,
                action="config_update",
                config=disabled,
            ),
        ),  # type: ignore[arg-type]
        (
            25,
            ControlCommand(
                command_id="on-again",
                account_id=config.account_id,
                ts=1_795_000_000_001,
                action="start",
            ),
        ),  # type: ignore[arg-type]
    ]
    out = run(ticks, [config], batch_size=50, seed=7, commands=commands)
    states = sorted(rows(out, "states"), key=lambda s: s["version"])
    stopped = next(s for s in states if s["command_id"] == "off")
    assert stopped["status"] == "stopped"
    assert all(s["status"] == "stopped" for s in states if s["version"] > stopped["version"])
    refusal = next(a for a in rows(out, "alerts") if a["kind"] == "command_rejected")
    assert "disabled" in refusal["message"]
    assert not [d for d in rows(out, "decisions") if d["approved"] and d["ts"] > stopped["ts"]]


def test_a_command_for_an_account_without_a_config_is_reported(ticks) -> None:  # type: ignore[no-untyped-def]
    stray = ControlCommand(
        command_id="who", account_id="ghost", ts=1_795_000_000_000, action="start"
    )  # type: ignore[arg-type]
    out = run(ticks, [], batch_size=500, seed=8, commands=[(1, stray)])
    [alert] = rows(out, "alerts")
    assert alert["account_id"] == "ghost"
    assert alert["kind"] == "command_rejected"
    assert "no config" in alert["message"]


def test_an_account_restarts_in_its_last_applied_status(ticks) -> None:  # type: ignore[no-untyped-def]
    from schemas.common import TradingStatus

    out = run(
        ticks,
        CONFIGS[:1],
        batch_size=500,
        seed=9,
        status={CONFIGS[0].account_id: TradingStatus.HALTED},
    )
    assert rows(out, "decisions")
    assert all(d["rule"] == "trading_state" for d in rows(out, "decisions"))
    assert not rows(out, "fills")
