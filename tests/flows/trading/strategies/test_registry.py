"""The strategy registry: every config kind has a strategy, and a new one is found by addition."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pytest
from pydantic import BaseModel

import flows.trading.strategies.registry as registry
from flows.trading.strategies import (
    RawSignal,
    StrategySpec,
    TickChunk,
    new_strategy_state,
    registered_strategies,
    strategy_name,
    strategy_spec,
    strategy_step,
)
from schemas.common import Direction
from schemas.config import (
    BollingerBreakout,
    MovingAverageCross,
    RsiReversion,
    Strategy,
    VolatilityPremium,
)

T0 = 1_795_000_000_000  # event time of the first tick, UTC ms


def model_name(model: type[BaseModel]) -> str:
    return model.__name__


def config_models() -> list[type[BaseModel]]:
    """The members of the discriminated union of strategy configs in schemas.config, by name."""
    union = typing.get_args(Strategy)[0]
    models: list[type[BaseModel]] = list(typing.get_args(union))
    models.sort(key=model_name)
    return models


def test_every_strategy_config_has_exactly_one_registered_strategy() -> None:
    specs = registered_strategies()
    assert {spec.config_type for spec in specs} == set(config_models())
    assert len({spec.kind for spec in specs}) == len(specs)


@pytest.mark.parametrize("model", config_models(), ids=model_name)
def test_a_spec_is_found_by_its_config_kind(model: type[BaseModel]) -> None:
    config: Any = model()
    spec = strategy_spec(config)
    assert spec.config_type is model
    assert spec.kind == config.kind
    assert isinstance(new_strategy_state(config), spec.state_type)
    assert new_strategy_state(config).position is Direction.FLAT


def test_only_the_volatility_premium_reads_implied_vol_and_sells_premium() -> None:
    facts = {
        spec.kind: (spec.reads_implied_vol, spec.sells_premium) for spec in registered_strategies()
    }
    assert facts == {
        "ma_cross": (False, False),
        "rsi_reversion": (False, False),
        "bollinger_breakout": (False, False),
        "vol_premium": (True, True),
    }
    assert strategy_spec(VolatilityPremium()).sells_premium
    for config in (MovingAverageCross(), RsiReversion(), BollingerBreakout()):
        assert not strategy_spec(config).reads_implied_vol


# --- a strategy added by addition -----------------------------------------------------------


class AlwaysLong(BaseModel):
    """A toy strategy config: long from the first tick on."""

    kind: Literal["always_long"] = "always_long"


@dataclass(slots=True, eq=False)
class AlwaysLongState:
    chunks: list[TickChunk]
    position: Direction = Direction.FLAT


def always_long_step(
    config: AlwaysLong, state: AlwaysLongState, chunk: TickChunk
) -> tuple[AlwaysLongState, list[RawSignal]]:
    state.chunks.append(chunk)
    if state.position is Direction.LONG or chunk.price.shape[0] == 0:
        return state, []
    state.position = Direction.LONG
    return state, [RawSignal(0, Direction.LONG, 1.0, "always", {"price": float(chunk.price[0])})]


def always_long_spec(reads_implied_vol: bool = False) -> StrategySpec[AlwaysLong, AlwaysLongState]:
    return StrategySpec(
        config_type=AlwaysLong,
        state_type=AlwaysLongState,
        new_state=lambda config: AlwaysLongState(chunks=[]),
        step=always_long_step,
        name=lambda config: "always_long()",
        reads_implied_vol=reads_implied_vol,
    )


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations in a test leave the real registry as it was."""
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))


@pytest.mark.usefixtures("isolated_registry")
def test_a_registered_strategy_is_run_named_and_equipped_with_no_other_edit() -> None:
    spec = registry.register(always_long_spec())
    config: Any = AlwaysLong()
    assert strategy_spec(config) is spec
    assert spec.kind == "always_long"
    assert strategy_name(config) == "always_long()"
    state = new_strategy_state(config)
    times = T0 + 1_000 * np.arange(3)
    state, signals = strategy_step(config, state, times, [10.0, 11.0, 12.0])
    assert signals == [RawSignal(0, Direction.LONG, 1.0, "always", {"price": 10.0})]
    assert state.position is Direction.LONG
    assert strategy_step(config, state, times, [13.0, 12.0, 11.0])[1] == []


@pytest.mark.usefixtures("isolated_registry")
def test_implied_vol_reaches_only_a_strategy_that_reads_it() -> None:
    registry.register(always_long_spec(reads_implied_vol=False))
    config: Any = AlwaysLong()
    state = new_strategy_state(config)
    strategy_step(config, state, [T0, T0 + 1], [10.0, 11.0], [0.2, 0.3])
    assert isinstance(state, AlwaysLongState)
    assert state.chunks[-1].implied_vol is None

    registry._SPECS.clear()
    registry.register(always_long_spec(reads_implied_vol=True))
    state = new_strategy_state(config)
    strategy_step(config, state, [T0, T0 + 1], [10.0, 11.0], [0.2, 0.3])
    assert isinstance(state, AlwaysLongState)
    implied = state.chunks[-1].implied_vol
    assert implied is not None
    assert implied.dtype == np.float64
    assert implied.tolist() == [0.2, 0.3]
    with pytest.raises(ValueError, match="always_long needs implied_vol"):
        strategy_step(config, state, [T0], [10.0])


@pytest.mark.usefixtures("isolated_registry")
def test_a_kind_is_registered_once() -> None:
    registry.register(always_long_spec())
    with pytest.raises(ValueError, match="always_long"):
        registry.register(always_long_spec())


def test_a_config_without_a_registered_strategy_is_refused_by_name() -> None:
    config: Any = AlwaysLong()
    with pytest.raises(LookupError, match="always_long"):
        strategy_spec(config)
