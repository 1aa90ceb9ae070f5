"""Bollinger breakout: long on a break above the upper band, flat back through the middle."""

from __future__ import annotations

from dataclasses import dataclass

from flows.trading.indicators import BollingerState, bollinger_step, new_bollinger_state
from flows.trading.strategies.base import (
    RawSignal,
    TickChunk,
    Transitions,
    clamp_strength,
    parameter_label,
    trigger_indices,
    walk_triggers,
)
from flows.trading.strategies.registry import StrategySpec, register
from schemas.common import Direction
from schemas.config import BollingerBreakout


@dataclass(slots=True, eq=False)
class BollingerBreakoutState:
    bands: BollingerState
    position: Direction = Direction.FLAT


def new_bollinger_breakout_state(config: BollingerBreakout) -> BollingerBreakoutState:
    return BollingerBreakoutState(bands=new_bollinger_state(config.period, config.width))


def bollinger_breakout_name(config: BollingerBreakout) -> str:
    short = ",short" if config.allow_short else ""
    return f"bollinger_breakout({config.period},{parameter_label(config.width)}{short})"


def bollinger_breakout_step(
    config: BollingerBreakout, state: BollingerBreakoutState, chunk: TickChunk
) -> tuple[BollingerBreakoutState, list[RawSignal]]:
    """Breakout through a Bollinger band, exit on the way back through the middle.

    FLAT → LONG when price > upper, LONG → FLAT when price < middle; with allow_short also
    FLAT → SHORT when price < lower and SHORT → FLAT when price > middle. Strength is the
    distance past the band (entries) or the middle (exits) in standard deviations, capped at 1
    (full strength when the window has no spread at all).
    """
    price = chunk.price
    _, bands = bollinger_step(state.bands, price)
    entries = [(trigger_indices(price > bands.upper), Direction.LONG)]
    if config.allow_short:
        entries.append((trigger_indices(price < bands.lower), Direction.SHORT))
    transitions: Transitions = {
        Direction.FLAT: entries,
        Direction.LONG: [(trigger_indices(price < bands.middle), Direction.FLAT)],
        Direction.SHORT: [(trigger_indices(price > bands.middle), Direction.FLAT)],
    }
    state.position, changes = walk_triggers(state.position, transitions)
    label = f"Bollinger({config.period},{config.width:g})"
    at = [index for index, _, _ in changes]
    rows = zip(
        changes,
        price[at].tolist(),
        bands.middle[at].tolist(),
        bands.upper[at].tolist(),
        bands.lower[at].tolist(),
        bands.std[at].tolist(),
        strict=True,
    )
    signals = []
    for (index, before, after), close, middle, upper, lower, std in rows:
        if after is Direction.LONG:
            distance = close - upper
            reason = f"price {close:.4f} above upper {label} band {upper:.4f}"
        elif after is Direction.SHORT:
            distance = lower - close
            reason = f"price {close:.4f} below lower {label} band {lower:.4f}"
        elif before is Direction.LONG:
            distance = middle - close
            reason = f"price {close:.4f} back below middle {label} band {middle:.4f}"
        else:
            distance = close - middle
            reason = f"price {close:.4f} back above middle {label} band {middle:.4f}"
        strength = distance / std if std > 0.0 else 1.0
        indicators = {"bb_middle": middle, "bb_upper": upper, "bb_lower": lower, "bb_std": std}
        signals.append(RawSignal(index, after, clamp_strength(strength), reason, indicators))
    return state, signals


SPEC = register(
    StrategySpec(
        config_type=BollingerBreakout,
        state_type=BollingerBreakoutState,
        new_state=new_bollinger_breakout_state,
        step=bollinger_breakout_step,
        name=bollinger_breakout_name,
    )
)
