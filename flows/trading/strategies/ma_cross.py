"""Moving-average cross: long when SMA(fast) crosses above SMA(slow), flat or short below."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.trading.indicators import (
    PRICE_SCALE,
    SmaState,
    new_sma_state,
    price_units,
    sma_window_sums,
)
from flows.trading.strategies.base import FloatArray, RawSignal, TickChunk
from flows.trading.strategies.registry import StrategySpec, register
from schemas.common import Direction
from schemas.config import MovingAverageCross

IntArray = npt.NDArray[np.int64]

# A fast/slow SMA gap of 0.5% gives a moving-average cross full strength.
MA_CROSS_FULL_STRENGTH_GAP = 0.005

# Position codes for the vectorised machine; _DIRECTIONS[code] is the position.
_FLAT, _LONG, _SHORT = 0, 1, -1
_DIRECTIONS = {_FLAT: Direction.FLAT, _LONG: Direction.LONG, _SHORT: Direction.SHORT}
_CODES = {direction: code for code, direction in _DIRECTIONS.items()}


@dataclass(slots=True, eq=False)
class MaCrossState:
    """Both SMAs, the sign of fast − slow at the last warm tick (None before) and the position."""

    fast: SmaState
    slow: SmaState
    relation: int | None = None
    position: Direction = Direction.FLAT


def new_ma_cross_state(config: MovingAverageCross) -> MaCrossState:
    return MaCrossState(fast=new_sma_state(config.fast), slow=new_sma_state(config.slow))


def ma_cross_name(config: MovingAverageCross) -> str:
    short = ",short" if config.allow_short else ""
    strict = ",strict" if config.cross == "strict" else ""
    return f"ma_cross({config.fast},{config.slow}{short}{strict})"


def ma_cross_step(
    config: MovingAverageCross, state: MaCrossState, chunk: TickChunk
) -> tuple[MaCrossState, list[RawSignal]]:
    """Cross of SMA(fast) over SMA(slow) on prices quantised to 0.0001.

    The averages are compared exactly (window sums cross-multiplied in int64). A cross above is
    previous fast ≤ slow and now fast > slow; a cross below is previous fast ≥ slow and now
    fast < slow (`cross: strict`: strictly below, then strictly above, and the same below);
    the first warm tick only records the relation. Cross above → LONG; cross below
    → FLAT, or SHORT with allow_short. Strength = min(1, |fast/slow − 1| / 0.005).
    """
    units = price_units(chunk.price)
    _, fast_sums, _ = sma_window_sums(state.fast, units)
    _, slow_sums, first_warm = sma_window_sums(state.slow, units)
    if first_warm >= chunk.price.shape[0]:
        return state, []
    crosses, up = _crosses(config, state, fast_sums[first_warm:], slow_sums[first_warm:])
    if crosses.shape[0] == 0:
        return state, []
    changed, targets = _position_changes(config, state, up)
    if changed.shape[0] == 0:
        return state, []
    at = crosses[changed] + first_warm
    return state, _cross_signals(config, at, targets, fast_sums[at], slow_sums[at])


def _crosses(
    config: MovingAverageCross, state: MaCrossState, fast_sums: IntArray, slow_sums: IntArray
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """The warm ticks where fast crosses slow, and whether each cross is upwards.

    Records the relation at the last tick in `state`, so a cross at a chunk's first tick is
    seen against the chunk before.
    """
    relation = np.sign(fast_sums * config.slow - slow_sums * config.fast)
    previous = np.empty_like(relation)
    previous[1:] = relation[:-1]
    previous[0] = 0 if state.relation is None else state.relation
    if config.cross == "strict":  # leaving a tie is not a cross (backtesting.py's crossover)
        up = (previous < 0) & (relation > 0)
        down = (previous > 0) & (relation < 0)
    else:
        up = (previous <= 0) & (relation > 0)
        down = (previous >= 0) & (relation < 0)
    if state.relation is None:
        up[0] = down[0] = False
    state.relation = int(relation[-1])
    crosses = np.flatnonzero(up | down)
    return crosses, up[crosses]


def _position_changes(
    config: MovingAverageCross, state: MaCrossState, up: npt.NDArray[np.bool_]
) -> tuple[IntArray, IntArray]:
    """Which crosses change the wanted position, and the position code after every cross.

    Each cross fixes the wanted position whatever it was (above → LONG, below → FLAT or
    SHORT), so the machine is memoryless and its changes are found without a walk.
    """
    targets = np.where(up, _LONG, _SHORT if config.allow_short else _FLAT)
    before = np.empty_like(targets)
    before[0] = _CODES[state.position]
    before[1:] = targets[:-1]
    changed = np.flatnonzero(targets != before)
    state.position = _DIRECTIONS[int(targets[-1])]
    return changed, targets[changed]


def _cross_signals(
    config: MovingAverageCross,
    at: IntArray,
    targets: IntArray,
    fast_sums: IntArray,
    slow_sums: IntArray,
) -> list[RawSignal]:
    """One signal per change at ticks `at`, from the window sums there (price units)."""
    fast: FloatArray = fast_sums / (config.fast * PRICE_SCALE)
    slow: FloatArray = slow_sums / (config.slow * PRICE_SCALE)
    with np.errstate(divide="ignore"):  # a zero slow SMA (prices below 0.00005) is full strength
        strength = np.clip(np.abs(fast / slow - 1.0) / MA_CROSS_FULL_STRENGTH_GAP, 0.0, 1.0)
    fast_label, slow_label = f"fast SMA({config.fast})", f"slow SMA({config.slow})"
    rows = zip(
        at.tolist(), targets.tolist(), strength.tolist(), fast.tolist(), slow.tolist(), strict=True
    )
    return [
        RawSignal(
            index,
            _DIRECTIONS[code],
            weight,
            f"{fast_label} {fast_sma:.4f} crossed {'above' if code == _LONG else 'below'} "
            f"{slow_label} {slow_sma:.4f}",
            {"fast_sma": fast_sma, "slow_sma": slow_sma},
        )
        for index, code, weight, fast_sma, slow_sma in rows
    ]


SPEC = register(
    StrategySpec(
        config_type=MovingAverageCross,
        state_type=MaCrossState,
        new_state=new_ma_cross_state,
        step=ma_cross_step,
        name=ma_cross_name,
    )
)
