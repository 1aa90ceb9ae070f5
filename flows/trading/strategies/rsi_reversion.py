"""RSI reversion: long when Wilder's RSI is oversold, flat again once it recovers."""

from __future__ import annotations

from dataclasses import dataclass

from flows.trading.indicators import RsiState, new_rsi_state, rsi_step
from flows.trading.strategies.base import (
    RawSignal,
    TickChunk,
    Transitions,
    clamp_strength,
    trigger_indices,
    walk_triggers,
)
from flows.trading.strategies.registry import StrategySpec, register
from schemas.common import Direction
from schemas.config import RsiReversion


@dataclass(slots=True, eq=False)
class RsiReversionState:
    rsi: RsiState
    position: Direction = Direction.FLAT


def new_rsi_reversion_state(config: RsiReversion) -> RsiReversionState:
    return RsiReversionState(rsi=new_rsi_state(config.period))


def rsi_reversion_name(config: RsiReversion) -> str:
    short = ",short" if config.allow_short else ""
    return f"rsi_reversion({config.period}{short})"


def rsi_reversion_step(
    config: RsiReversion, state: RsiReversionState, chunk: TickChunk
) -> tuple[RsiReversionState, list[RawSignal]]:
    """Mean reversion on Wilder's RSI.

    FLAT → LONG when RSI < oversold, LONG → FLAT when RSI > exit_level; with allow_short also
    FLAT → SHORT when RSI > overbought and SHORT → FLAT when RSI < exit_level. Strength is the
    distance past the threshold as a fraction of the room beyond it: (oversold − RSI)/oversold,
    (RSI − overbought)/(100 − overbought), (RSI − exit)/(100 − exit), (exit − RSI)/exit.
    """
    _, rsi = rsi_step(state.rsi, chunk.price)
    entries = [(trigger_indices(rsi < config.oversold), Direction.LONG)]
    if config.allow_short:
        entries.append((trigger_indices(rsi > config.overbought), Direction.SHORT))
    transitions: Transitions = {
        Direction.FLAT: entries,
        Direction.LONG: [(trigger_indices(rsi > config.exit_level), Direction.FLAT)],
        Direction.SHORT: [(trigger_indices(rsi < config.exit_level), Direction.FLAT)],
    }
    state.position, changes = walk_triggers(state.position, transitions)
    label = f"RSI({config.period})"
    values: list[float] = rsi[[index for index, _, _ in changes]].tolist()
    signals = []
    for (index, before, after), value in zip(changes, values, strict=True):
        if after is Direction.LONG:
            strength = (config.oversold - value) / config.oversold
            reason = f"{label} {value:.2f} below oversold {config.oversold:g}"
        elif after is Direction.SHORT:
            strength = (value - config.overbought) / (100.0 - config.overbought)
            reason = f"{label} {value:.2f} above overbought {config.overbought:g}"
        elif before is Direction.LONG:
            strength = (value - config.exit_level) / (100.0 - config.exit_level)
            reason = f"{label} {value:.2f} back above exit level {config.exit_level:g}"
        else:
            strength = (config.exit_level - value) / config.exit_level
            reason = f"{label} {value:.2f} back below exit level {config.exit_level:g}"
        signals.append(RawSignal(index, after, clamp_strength(strength), reason, {"rsi": value}))
    return state, signals


SPEC = register(
    StrategySpec(
        config_type=RsiReversion,
        state_type=RsiReversionState,
        new_state=new_rsi_reversion_state,
        step=rsi_reversion_step,
        name=rsi_reversion_name,
    )
)
