"""The strategy registry: each strategy module registers a `StrategySpec`; dispatch is by kind.

`strategy_spec(config)` finds a config's strategy by its `kind` (the discriminator of
`schemas.config.Strategy`), so running, naming or equipping a strategy never asks which class a
config is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from flows.trading.strategies.base import RawSignal, StrategyState, TickChunk
from schemas.config import Strategy

__all__ = [
    "StrategyConfig",
    "StrategySpec",
    "new_strategy_state",
    "register",
    "registered_strategies",
    "strategy_name",
    "strategy_spec",
    "strategy_step",
]

# The discriminated union of strategy configs in schemas.config: a new config model there is a
# new member here.
StrategyConfig: TypeAlias = Strategy

ConfigT = TypeVar("ConfigT", bound=BaseModel)
StateT = TypeVar("StateT", bound=StrategyState)


@dataclass(frozen=True, slots=True)
class StrategySpec(Generic[ConfigT, StateT]):
    """What a strategy is, for the code that runs it and for the account that trades it.

    config_type: its config model in `schemas.config`, whose `kind` literal names it.
    state_type: its state (a picklable slotted dataclass with a `position`).
    new_state: a fresh state for a config (no history, position FLAT).
    step: runs a chunk through the state (updated in place and returned) and gives the signals
      in index order; `RawSignal.index` is the position within the chunk.
    name: the short label of a config (≤ 40 characters, the signals' `strategy` column).
    reads_implied_vol: the step needs `TickChunk.implied_vol` for every tick.
    sells_premium: its SHORT means selling option premium (an option whatever the selection,
      closed only when the strategy goes FLAT), not a bearish position.
    """

    config_type: type[ConfigT]
    state_type: type[StateT]
    new_state: Callable[[ConfigT], StateT]
    step: Callable[[ConfigT, StateT, TickChunk], tuple[StateT, list[RawSignal]]]
    name: Callable[[ConfigT], str]
    reads_implied_vol: bool = False
    sells_premium: bool = False

    @property
    def kind(self) -> str:
        """The `kind` discriminator of its config model, e.g. "ma_cross"."""
        kind: str = self.config_type.model_fields["kind"].default
        return kind


_SPECS: dict[str, StrategySpec[Any, Any]] = {}


def register(spec: StrategySpec[ConfigT, StateT]) -> StrategySpec[ConfigT, StateT]:
    """Add a strategy to the registry (once per kind) and return its spec."""
    if spec.kind in _SPECS:
        raise ValueError(f"a strategy of kind {spec.kind!r} is already registered")
    _SPECS[spec.kind] = spec
    return spec


def registered_strategies() -> tuple[StrategySpec[Any, Any], ...]:
    """Every registered strategy, in order of registration."""
    return tuple(_SPECS.values())


def strategy_spec(config: StrategyConfig) -> StrategySpec[Any, Any]:
    """The registered strategy of `config` (by its `kind`)."""
    spec = _SPECS.get(config.kind)
    if spec is None:
        raise LookupError(f"no strategy is registered for kind {config.kind!r}")
    return spec


def strategy_name(config: StrategyConfig) -> str:
    """A short label (≤ 40 characters, the signals' `strategy` column), e.g. "ma_cross(10,30)".

    It names the kind and its windows (and Bollinger's width, vol premium's entry threshold);
    ",short" marks allow_short. The other thresholds live in the versioned algorithm config
    that each signal references.
    """
    return strategy_spec(config).name(config)


def new_strategy_state(config: StrategyConfig) -> StrategyState:
    """A fresh state (no history, position FLAT) for `config`."""
    state: StrategyState = strategy_spec(config).new_state(config)
    return state


def strategy_step(
    config: StrategyConfig,
    state: StrategyState,
    ts: npt.ArrayLike,
    price: npt.ArrayLike,
    implied_vol: npt.ArrayLike | None = None,
) -> tuple[StrategyState, list[RawSignal]]:
    """Run one chunk of a symbol's ticks, in event-time order, through the strategy.

    `ts` are event times (int64 UTC ms), `price` the prices (float64, quote currency) and
    `implied_vol` the per-tick implied vol (fraction per year; NaN where unknown), required by
    a strategy that reads implied vol (vol_premium) and ignored by the others. The strategies
    here react to the order of ticks, not to their times, so `ts` is only checked to align with
    `price`. Returns the state (updated in place) and the signals in index order;
    `RawSignal.index` is the position within this chunk.
    """
    prices = np.asarray(price, dtype=np.float64)
    times = np.asarray(ts)
    if prices.ndim != 1 or times.shape != prices.shape:
        raise ValueError(f"ts {times.shape} and price {prices.shape} must be equal 1-D shapes")
    spec = strategy_spec(config)
    if not isinstance(state, spec.state_type):
        raise TypeError(f"{type(state).__name__} is not the state of a {config.kind} strategy")
    implied = None
    if spec.reads_implied_vol:
        if implied_vol is None:
            raise ValueError(f"{config.kind} needs implied_vol for every tick")
        implied = np.asarray(implied_vol, dtype=np.float64)
        if implied.shape != prices.shape:
            raise ValueError(f"implied_vol {implied.shape} must match price {prices.shape}")
    new_state, signals = spec.step(config, state, TickChunk(prices, implied))
    return new_state, signals
