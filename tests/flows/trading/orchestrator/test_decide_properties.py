"""Properties of `decide` over random accounts, orders and limits."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from flows.trading.orchestrator import APPROVED, OrderIntent, RiskView, decide
from schemas.common import TradingStatus
from schemas.config import RiskLimits
from tests.flows.trading.orchestrator.scenarios import NOW, OPENING_RULES, S, no_limits, scenario

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
