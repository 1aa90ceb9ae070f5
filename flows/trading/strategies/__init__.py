"""Trading strategies as position state machines over micro-batches of one symbol's ticks.

A strategy's state holds its indicators and the position it currently wants (flat, long or
short). `strategy_step` runs a chunk of ticks through the indicators and returns a `RawSignal`
wherever the wanted position changes, and only there:

    state = new_strategy_state(config)
    state, signals = strategy_step(config, state, ts, price)   # signals index into the chunk

The hot path is vectorised: indicator values and every tick at which each transition's
condition holds are computed over the whole chunk with numpy; the state machine then jumps
from one transition to the next by binary search over those trigger indices, so Python runs
once per position change, never per tick. (The moving-average cross needs no walk at all: each cross
fixes the wanted position by itself, so its changes are found with numpy alone.) Like the indicators
(see flows.trading.indicators), the outputs and the final state do not depend, bit for bit, on where
the stream is cut into chunks, and a step updates the state in place and returns it.

Strengths are in [0, 1], deterministic, and larger the further the triggering indicator went
past its threshold; each strategy's step documents its formula.

The strategies, one module each, find each other through a registry (`registry.py`):
`strategy_spec(config)` is the registered `StrategySpec` of the config's `kind`, and says what the
account needs to know (`reads_implied_vol`, `sells_premium`) without asking which class it is.
Shared pieces (`RawSignal`, `TickChunk`, the trigger walk, strength helpers) are in `base.py`.

Adding a strategy:
1. Its config model in `schemas/config.py`, with a unique `kind` literal, added to the
   discriminated union `Strategy` there (which is `StrategyConfig` here).
2. One module in this package that defines its state (a slotted dataclass with a `position`,
   picklable for Bytewax recovery), a state factory, a step
   `(config, state, TickChunk) -> (state, signals)` and a label, and ends with
   `SPEC = register(StrategySpec(config_type=..., state_type=..., new_state=..., step=...,
   name=..., reads_implied_vol=..., sells_premium=...))`.
   It imports from `.base` and `.registry`, never from this package, which imports every module
   in it as it initialises: that is how the registry finds the new strategy.
"""

from __future__ import annotations

import importlib
import pkgutil

from flows.trading.strategies.base import RawSignal, StrategyState, TickChunk
from flows.trading.strategies.registry import (
    StrategyConfig,
    StrategySpec,
    new_strategy_state,
    registered_strategies,
    strategy_name,
    strategy_spec,
    strategy_step,
)

__all__ = [
    "RawSignal",
    "StrategyConfig",
    "StrategySpec",
    "StrategyState",
    "TickChunk",
    "new_strategy_state",
    "registered_strategies",
    "strategy_name",
    "strategy_spec",
    "strategy_step",
]


def _import_strategy_modules() -> None:
    """Import every module of this package, so each strategy module registers itself."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda found: found.name):
        importlib.import_module(f"{__name__}.{module.name}")


_import_strategy_modules()
