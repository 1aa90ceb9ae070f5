"""Every contract refuses bad values with a message that names the field and the reason."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from schemas.config import AlgorithmConfig, ControlCommand, MovingAverageCross, TradingHours
from schemas.market import OptionQuote, Tick
from schemas.trading import Alert, Fill, Signal, TradingState

TS = 1_764_081_000_000  # 2025-11-25T14:30:00Z

GOOD_TICK: dict[str, Any] = {
    "symbol": "AAPL",
    "ts": TS,
    "bid": 100.0,
    "ask": 100.02,
    "last": 100.01,
    "volume": 300,
}
GOOD_OPTION: dict[str, Any] = {
    "underlying": "AAPL",
    "ts": TS,
    "expiry": "2025-12-19",
    "strike": 100.0,
    "right": "call",
    "bid": 2.5,
    "ask": 2.6,
}
GOOD_SIGNAL: dict[str, Any] = {
    "signal_id": "live:acct-1:sig:0:42",
    "run_id": "live",
    "account_id": "acct-1",
    "ts": TS,
    "symbol": "AAPL",
    "strategy": "ma_cross(10,30)",
    "direction": "long",
    "strength": 0.5,
    "price": 100.0,
    "reason": "fast crossed above slow",
    "config_version": 1,
}
GOOD_FILL: dict[str, Any] = {
    "fill_id": "live:acct-1:fill:0:42",
    "order_id": "live:acct-1:ord:0:42",
    "run_id": "live",
    "account_id": "acct-1",
    "ts": TS,
    "instrument": "AAPL",
    "underlying": "AAPL",
    "asset_class": "equity",
    "side": "buy",
    "quantity": 100,
    "price": 100.03,
    "multiplier": 1,
    "commission": 1.0,
    "slippage": 0.01,
    "realised_pnl": -1.0,
    "reason": "signal",
}

CASES: list[tuple[type[BaseModel], dict[str, Any], dict[str, Any], str, str]] = [
    (Tick, GOOD_TICK, {"bid": math.nan}, "bid", "finite number"),
    (Tick, GOOD_TICK, {"ask": math.inf}, "ask", "finite number"),
    (Tick, GOOD_TICK, {"last": -math.inf}, "last", "finite number"),
    (Tick, GOOD_TICK, {"bid": -1.0}, "bid", "greater than 0"),
    (Tick, GOOD_TICK, {"last": 0.0}, "last", "greater than 0"),
    (Tick, GOOD_TICK, {"bid": 100.05}, "", "crossed quote"),
    (Tick, GOOD_TICK, {"ts": "2025-11-25T14:30:00"}, "ts", "timezone-aware"),
    (Tick, GOOD_TICK, {"ts": -1_000}, "ts", "greater than or equal"),
    (Tick, GOOD_TICK, {"ts": 5_000_000_000_000}, "ts", "less than or equal"),
    (Tick, GOOD_TICK, {"ts": "yesterday"}, "ts", "neither epoch ms nor ISO-8601"),
    (Tick, GOOD_TICK, {"ts": 1.5e12 + 0.5}, "ts", "whole number"),
    (Tick, GOOD_TICK, {"symbol": "aapl"}, "symbol", "pattern"),
    (Tick, GOOD_TICK, {"symbol": "A" * 16}, "symbol", "at most 15"),
    (Tick, GOOD_TICK, {"volume": -5}, "volume", "greater than or equal"),
    (Tick, GOOD_TICK, {"venue": "X"}, "venue", "Extra inputs"),
    (OptionQuote, GOOD_OPTION, {"right": "straddle"}, "right", "'call' or 'put'"),
    (OptionQuote, GOOD_OPTION, {"bid": 3.0}, "", "crossed quote"),
    (OptionQuote, GOOD_OPTION, {"strike": 0}, "strike", "greater than 0"),
    (OptionQuote, GOOD_OPTION, {"expiry": "1969-12-17"}, "expiry", "between 1970-01-01"),
    (Signal, GOOD_SIGNAL, {"direction": "sideways"}, "direction", "'long', 'short' or 'flat'"),
    (Signal, GOOD_SIGNAL, {"strength": 1.5}, "strength", "less than or equal to 1"),
    (Signal, GOOD_SIGNAL, {"reason": "x" * 1001}, "reason", "at most 1000"),
    (Signal, GOOD_SIGNAL, {"account_id": "a" * 65}, "account_id", "at most 64"),
    (Signal, GOOD_SIGNAL, {"account_id": "bad id;DROP"}, "account_id", "pattern"),
    (Signal, GOOD_SIGNAL, {"indicators": {"sma": math.nan}}, "indicators.sma", "finite number"),
    (Fill, GOOD_FILL, {"quantity": 0}, "quantity", "greater than 0"),
    (Fill, GOOD_FILL, {"side": "hold"}, "side", "'buy' or 'sell'"),
    (Fill, GOOD_FILL, {"commission": math.nan}, "commission", "finite number"),
]


@pytest.mark.parametrize(
    ("model", "good", "change", "field", "message"),
    CASES,
    ids=[f"{m.__name__}-{next(iter(c))}-{msg}" for m, _, c, _, msg in CASES],
)
def test_model_rejects_bad_value_naming_field_and_reason(
    model: type[BaseModel], good: dict[str, Any], change: dict[str, Any], field: str, message: str
) -> None:
    model.model_validate(good)  # the baseline is valid
    with pytest.raises(ValidationError) as raised:
        model.model_validate({**good, **change})
    errors = raised.value.errors()
    locations = [".".join(str(part) for part in error["loc"]) for error in errors]
    assert any(loc == field or (not field and loc == "") for loc in locations), locations
    assert message in str(raised.value)


def test_event_time_accepts_aware_iso_and_epoch_ms_alike() -> None:
    as_ms = Tick.model_validate(GOOD_TICK)
    as_iso = Tick.model_validate({**GOOD_TICK, "ts": "2025-11-25T09:30:00-05:00"})
    as_z = Tick.model_validate({**GOOD_TICK, "ts": "2025-11-25T14:30:00.000Z"})
    assert as_ms.ts == as_iso.ts == as_z.ts == TS


def test_money_is_rounded_to_the_cent() -> None:
    fill = Fill.model_validate({**GOOD_FILL, "commission": 1.004999, "realised_pnl": -2.675})
    assert fill.commission == 1.0
    assert fill.realised_pnl == round(-2.675, 2)


def test_unknown_trading_state_is_refused() -> None:
    with pytest.raises(ValidationError, match="status"):
        TradingState.model_validate(
            {
                "run_id": "live",
                "account_id": "a",
                "ts": TS,
                "status": "sleeping",
                "reason": "",
                "command_id": "",
                "config_version": 1,
                "version": 1,
                "equity": 1.0,
                "cash": 1.0,
                "open_positions": 0,
            }
        )


def test_alert_kind_must_be_a_rule_like_name() -> None:
    with pytest.raises(ValidationError, match="kind"):
        Alert(
            alert_id="a",
            run_id="live",
            account_id="a",
            ts=TS,
            severity="warning",  # type: ignore[arg-type]
            kind="Bad Kind!",
            message="m",
        )


def test_moving_average_cross_needs_fast_below_slow() -> None:
    with pytest.raises(ValidationError, match="must be shorter than slow"):
        MovingAverageCross(fast=30, slow=10)


def test_trading_hours_refuse_unknown_zone_and_inverted_session() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        TradingHours(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="open must be before close"):
        TradingHours.model_validate({"open": "16:00", "close": "09:30"})


def test_config_update_requires_a_config_for_the_same_account() -> None:
    config = AlgorithmConfig(account_id="a", symbols=["AAPL"])
    base = {"command_id": "c1", "account_id": "a", "ts": TS}
    ControlCommand.model_validate({**base, "action": "config_update", "config": config})
    with pytest.raises(ValidationError, match="config is required"):
        ControlCommand.model_validate({**base, "action": "config_update"})
    with pytest.raises(ValidationError, match="config is required"):
        ControlCommand.model_validate({**base, "action": "start", "config": config})
    with pytest.raises(ValidationError, match="must match account_id"):
        ControlCommand.model_validate(
            {
                **base,
                "action": "config_update",
                "config": config.model_copy(update={"account_id": "b"}),
            }
        )


def test_algorithm_config_refuses_repeated_symbols_and_unknown_strategy() -> None:
    with pytest.raises(ValidationError, match="must not repeat"):
        AlgorithmConfig(account_id="a", symbols=["AAPL", "AAPL"])
    with pytest.raises(ValidationError, match="strategy"):
        AlgorithmConfig.model_validate(
            {"account_id": "a", "symbols": ["AAPL"], "strategy": {"kind": "astrology"}}
        )
