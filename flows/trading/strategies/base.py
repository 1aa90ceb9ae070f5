"""What every strategy shares: its input chunk, its output signal, and the trigger walk.

A strategy module imports from here and from `flows.trading.strategies.registry`, never from the
package itself (the package imports every strategy module while it initialises).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from schemas.common import Direction

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "Change",
    "FloatArray",
    "RawSignal",
    "StrategyState",
    "TickChunk",
    "Transitions",
    "clamp_strength",
    "finite_indicators",
    "parameter_label",
    "trigger_indices",
    "walk_triggers",
]


@dataclass(frozen=True, slots=True)
class RawSignal:
    """A change of the wanted position at tick `index` of the chunk passed to `strategy_step`.

    `direction` is the new position, `strength` in [0, 1], `reason` a sentence for humans and
    `indicators` the values that decided it (finite floats, keyed by indicator name).
    """

    index: int
    direction: Direction
    strength: float
    reason: str
    indicators: dict[str, float]


class StrategyState(Protocol):
    """A strategy's state: its indicators and the position it currently wants.

    A slotted dataclass that Bytewax recovery snapshots with pickle; a step updates it in place.
    """

    position: Direction


class TickChunk(NamedTuple):
    """One chunk of a symbol's ticks as a strategy reads them: aligned 1-D arrays, in event order.

    `price` is float64 in the quote currency. `implied_vol` is the per-tick implied vol (fraction
    per year, NaN where unknown) for a strategy whose spec `reads_implied_vol`, and None for
    the others.
    """

    price: FloatArray
    implied_vol: FloatArray | None


# For each position: (ascending tick indices where a condition holds, position it leads to).
# When two conditions hold at the same tick the first listed wins; the strategies here never
# list two that can hold together.
Transitions = dict[Direction, Sequence[tuple[list[int], Direction]]]
# (tick index in the chunk, position before, position after)
Change = tuple[int, Direction, Direction]


def walk_triggers(position: Direction, transitions: Transitions) -> tuple[Direction, list[Change]]:
    """Run the position machine over a chunk: at most one transition per tick.

    Each iteration finds, by binary search, the earliest trigger of the current position's
    transitions after the last change, so the loop runs once per change, not per tick.
    """
    changes: list[Change] = []
    start = 0
    while True:
        best, target = -1, position
        for triggers, to in transitions.get(position, ()):
            k = bisect.bisect_left(triggers, start)
            if k < len(triggers) and (best < 0 or triggers[k] < best):
                best, target = triggers[k], to
        if best < 0:
            return position, changes
        changes.append((best, position, target))
        position, start = target, best + 1


def trigger_indices(condition: npt.NDArray[np.bool_]) -> list[int]:
    """The ascending tick indices where `condition` holds, for `walk_triggers`."""
    indices: list[int] = np.flatnonzero(condition).tolist()
    return indices


def clamp_strength(value: float) -> float:
    """Clamp a strength to [0, 1]; an infinite ratio (zero denominator) is full strength."""
    return min(1.0, max(0.0, value))


def finite_indicators(indicators: dict[str, float]) -> dict[str, float]:
    """The indicators without their non-finite values (signals carry finite floats only)."""
    return {name: value for name, value in indicators.items() if math.isfinite(value)}


def parameter_label(value: float) -> str:
    """A parameter for a label: at most four decimals, no trailing zeros (2.0 → "2")."""
    return f"{value:.4f}".rstrip("0").rstrip(".")
