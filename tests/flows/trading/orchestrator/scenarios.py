"""Shared scenarios for the orchestrator's specification: a flat, running account and an order."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np

from flows.trading.orchestrator import RULE_ORDER, Lock, OrderIntent, RiskView, ScenarioBook
from schemas.common import Side, TradingStatus, to_epoch_ms
from schemas.config import (
    ControlAction,
    Guards,
    LossStreak,
    LowPerformance,
    RiskLimits,
    WindowDrawdown,
)

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


# Every guard on, with lengths the lock fixtures below do not depend on.
ALL_GUARDS = Guards(
    loss_cooldown_seconds=300,
    loss_streak=LossStreak(count=3, window_seconds=600, lock_seconds=900),
    window_drawdown=WindowDrawdown(max_drawdown=0.05, window_seconds=3_600, lock_seconds=1_800),
    low_performance=LowPerformance(trades=5, max_loss=500.0, lock_seconds=3_600),
)


def lock(rule: str, scope: str = "AAPL", *, start: int, until: int) -> Lock:
    """A guard's lock as the account keeps it (observed and limit are its trigger's values)."""
    return Lock(rule, scope, start, until, 1.0, 1.0, f"{rule} triggered")


def share_book(*rows: tuple[str, float, float]) -> ScenarioBook:
    """A scenario book of shares only: (underlying, spot, signed shares) per row."""
    n = len(rows)
    return ScenarioBook(
        underlying=tuple(row[0] for row in rows),
        spot=np.array([row[1] for row in rows], dtype=np.float64),
        units=np.array([row[2] for row in rows], dtype=np.float64),
        option=np.zeros(n, dtype=bool),
        strike=np.zeros(n),
        years=np.zeros(n),
        vol=np.zeros(n),
        is_call=np.zeros(n, dtype=bool),
    )
