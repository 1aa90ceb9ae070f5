"""`PerConfig`: a value derived once per config object, never served for another object."""

from __future__ import annotations

import pytest

from flows.trading import per_config
from flows.trading.per_config import PerConfig
from schemas.config import RiskLimits


def test_a_value_is_derived_once_per_object_and_never_for_an_equal_other() -> None:
    calls: list[RiskLimits] = []

    def derive(limits: RiskLimits) -> int | None:
        calls.append(limits)
        return limits.max_order_quantity

    cached = PerConfig(derive)
    first, equal, other = RiskLimits(), RiskLimits(), RiskLimits(max_order_quantity=7)
    assert [cached(first), cached(first), cached(equal), cached(other)] == [None, None, None, 7]
    assert [id(c) for c in calls] == [id(first), id(equal), id(other)]


def test_the_cache_starts_again_past_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(per_config, "LIMIT", 2)
    cached = PerConfig(lambda limits: limits.max_order_quantity)
    kept = [RiskLimits(max_order_quantity=q) for q in (1, 2, 3)]
    assert [cached(limits) for limits in kept] == [1, 2, 3]
    assert len(cached._found) == 1  # cleared at the limit, then the third remembered
