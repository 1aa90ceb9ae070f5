"""Properties of `decide` over random accounts, orders and limits."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from flows.trading.orchestrator import APPROVED, GUARD_RULES, Lock, OrderIntent, RiskView, decide
from schemas.common import TradingStatus
from schemas.config import Guards, RiskLimits
from tests.flows.trading.orchestrator.scenarios import (
    ALL_GUARDS,
    NOW,
    OPENING_RULES,
    S,
    lock,
    no_limits,
    scenario,
    share_book,
)

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
    guards=st.builds(
        Guards,
        **{name: _optional(st.just(getattr(ALL_GUARDS, name))) for name in Guards.model_fields},
    ),
    max_scenario_loss=_optional(st.floats(1, 1e6)),
    scenario_spot_pct=st.lists(st.floats(0.01, 0.5), max_size=3),
)

# Locks around now on the order's symbol, another one, or the account: some lifted, some not.
_locks = st.lists(
    st.builds(
        lambda rule, scope, start, length: lock(rule, scope, start=start, until=start + length),
        st.sampled_from(GUARD_RULES),
        st.sampled_from(["AAPL", "MSFT", ""]),
        st.integers(NOW - 3_600_000, NOW),
        st.integers(1, 3_600_000),
    ),
    max_size=4,
).map(tuple)
_share_books = st.lists(
    st.tuples(st.sampled_from(["AAPL", "MSFT"]), st.floats(1, 1_000), st.floats(-1e4, 1e4)),
    min_size=1,
    max_size=4,
).map(lambda rows: share_book(*rows))

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
        "locks": _locks,
        "scenario": _optional(_share_books),
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
        **{rule: not _locked_by(rule, view.locks, intent, limits) for rule in GUARD_RULES},
        "max_scenario_loss": limits.max_scenario_loss is None
        or view.scenario is None
        or _share_scenario_loss(view, limits) <= limits.max_scenario_loss * stretch,
    }


_GUARD_SETTING = dict(zip(GUARD_RULES, Guards.model_fields, strict=True))


def _locked_by(rule: str, locks: tuple[Lock, ...], intent: OrderIntent, limits: RiskLimits) -> bool:
    """A configured guard's lock on the order's symbol or the account covers the order's time."""
    if getattr(limits.guards, _GUARD_SETTING[rule]) is None:
        return False
    return any(
        lock.rule == rule
        and lock.scope in (intent.symbol, "")
        and lock.start_ts <= intent.ts < lock.until_ts
        for lock in locks
    )


def _share_scenario_loss(view: RiskView, limits: RiskLimits) -> float:
    """A book of shares: each underlying's worst loss over its spot moves, summed."""
    assert view.scenario is not None
    moves = [0.0, *limits.scenario_spot_pct, *(-x for x in limits.scenario_spot_pct)]
    book = view.scenario
    total = 0.0
    for name in set(book.underlying):
        rows = [i for i, u in enumerate(book.underlying) if u == name]
        total += max(
            sum(-float(book.units[i]) * float(book.spot[i]) * move for i in rows) for move in moves
        )
    return total
