"""Trading strategies as position state machines over micro-batches of one symbol's ticks.

A strategy's state holds its indicators and the position it currently wants (flat, long or
short). `strategy_step` runs a chunk of ticks through the indicators and returns a `RawSignal`
wherever the wanted position changes, and only there:

    state = new_strategy_state(config)
    state, signals = strategy_step(config, state, ts, price)   # signals index into the chunk

The hot path is vectorised: indicator values and every tick at which each transition's
condition holds are computed over the whole chunk with numpy; the state machine then jumps
from one transition to the next by binary search over those trigger indices, so Python runs
once per position change, never per tick. (The moving-average cross needs no walk at all: each
cross fixes the wanted position by itself, so its changes are found with numpy alone.) Like the
indicators (see flows.indicators), the outputs and the final state do not depend, bit for bit,
on where the stream is cut into chunks, and a step updates the state in place and returns it.

Strengths are in [0, 1], deterministic, and larger the further the triggering indicator went
past its threshold; each strategy's step documents its formula.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.indicators import (
    PRICE_SCALE,
    BollingerState,
    RealisedVolState,
    RsiState,
    SmaState,
    bollinger_step,
    new_bollinger_state,
    new_realised_vol_state,
    new_rsi_state,
    new_sma_state,
    price_units,
    realised_vol_step,
    rsi_step,
    sma_window_sums,
)
from schemas.common import Direction
from schemas.config import BollingerBreakout, MovingAverageCross, RsiReversion, VolatilityPremium

FloatArray = npt.NDArray[np.float64]

StrategyConfig = MovingAverageCross | RsiReversion | BollingerBreakout | VolatilityPremium

# A fast/slow SMA gap of 0.5% gives a moving-average cross full strength.
MA_CROSS_FULL_STRENGTH_GAP = 0.005

__all__ = [
    "MA_CROSS_FULL_STRENGTH_GAP",
    "BollingerBreakoutState",
    "MaCrossState",
    "RawSignal",
    "RsiReversionState",
    "StrategyConfig",
    "StrategyState",
    "VolPremiumState",
    "new_strategy_state",
    "strategy_name",
    "strategy_step",
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


@dataclass(slots=True, eq=False)
class MaCrossState:
    """Both SMAs, the sign of fast − slow at the last warm tick (None before) and the position."""

    fast: SmaState
    slow: SmaState
    relation: int | None = None
    position: Direction = Direction.FLAT


@dataclass(slots=True, eq=False)
class RsiReversionState:
    rsi: RsiState
    position: Direction = Direction.FLAT


@dataclass(slots=True, eq=False)
class BollingerBreakoutState:
    bands: BollingerState
    position: Direction = Direction.FLAT


@dataclass(slots=True, eq=False)
class VolPremiumState:
    realised: RealisedVolState
    position: Direction = Direction.FLAT


StrategyState = MaCrossState | RsiReversionState | BollingerBreakoutState | VolPremiumState

# For each position: (ascending tick indices where a condition holds, position it leads to).
# When two conditions hold at the same tick the first listed wins; the strategies here never
# list two that can hold together.
Transitions = dict[Direction, Sequence[tuple[list[int], Direction]]]
Change = tuple[int, Direction, Direction]

# Position codes for vectorised machines; _DIRECTIONS[code] is the position.
_FLAT, _LONG, _SHORT = 0, 1, -1
_DIRECTIONS = {_FLAT: Direction.FLAT, _LONG: Direction.LONG, _SHORT: Direction.SHORT}
_CODES = {direction: code for code, direction in _DIRECTIONS.items()}


def _walk(position: Direction, transitions: Transitions) -> tuple[Direction, list[Change]]:
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


def _triggers(condition: npt.NDArray[np.bool_]) -> list[int]:
    indices: list[int] = np.flatnonzero(condition).tolist()
    return indices


def _fraction(value: float) -> float:
    """Clamp a strength to [0, 1]; an infinite ratio (zero denominator) is full strength."""
    return min(1.0, max(0.0, value))


def _finite(indicators: dict[str, float]) -> dict[str, float]:
    return {name: value for name, value in indicators.items() if math.isfinite(value)}


# --- moving-average cross ---------------------------------------------------------------------


def _ma_cross_step(
    config: MovingAverageCross, state: MaCrossState, price: FloatArray
) -> tuple[MaCrossState, list[RawSignal]]:
    """Cross of SMA(fast) over SMA(slow) on prices quantised to 0.0001.

    The averages are compared exactly (window sums cross-multiplied in int64). A cross above is
    previous fast ≤ slow and now fast > slow; a cross below is previous fast ≥ slow and now
    fast < slow; the first warm tick only records the relation. Cross above → LONG; cross below
    → FLAT, or SHORT with allow_short. Strength = min(1, |fast/slow − 1| / 0.005).
    """
    units = price_units(price)
    _, fast_sums, _ = sma_window_sums(state.fast, units)
    _, slow_sums, first_warm = sma_window_sums(state.slow, units)
    if first_warm >= price.shape[0]:
        return state, []
    relation = np.sign(fast_sums[first_warm:] * config.slow - slow_sums[first_warm:] * config.fast)
    previous = np.empty_like(relation)
    previous[1:] = relation[:-1]
    previous[0] = 0 if state.relation is None else state.relation
    up = (previous <= 0) & (relation > 0)
    down = (previous >= 0) & (relation < 0)
    if state.relation is None:
        up[0] = down[0] = False
    state.relation = int(relation[-1])
    crosses = np.flatnonzero(up | down)
    if crosses.shape[0] == 0:
        return state, []
    # Each cross fixes the wanted position whatever it was (above → LONG, below → FLAT or
    # SHORT), so the machine is memoryless and its changes are found without a walk.
    targets = np.where(up[crosses], _LONG, _SHORT if config.allow_short else _FLAT)
    before = np.empty_like(targets)
    before[0] = _CODES[state.position]
    before[1:] = targets[:-1]
    changed = np.flatnonzero(targets != before)
    state.position = _DIRECTIONS[int(targets[-1])]
    if changed.shape[0] == 0:
        return state, []
    at = crosses[changed] + first_warm
    fast = fast_sums[at] / (config.fast * PRICE_SCALE)
    slow = slow_sums[at] / (config.slow * PRICE_SCALE)
    with np.errstate(divide="ignore"):  # a zero slow SMA (prices below 0.00005) is full strength
        strength = np.clip(np.abs(fast / slow - 1.0) / MA_CROSS_FULL_STRENGTH_GAP, 0.0, 1.0)
    fast_label, slow_label = f"fast SMA({config.fast})", f"slow SMA({config.slow})"
    rows = zip(
        at.tolist(),
        targets[changed].tolist(),
        strength.tolist(),
        fast.tolist(),
        slow.tolist(),
        strict=True,
    )
    return state, [
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


# --- RSI reversion ----------------------------------------------------------------------------


def _rsi_reversion_step(
    config: RsiReversion, state: RsiReversionState, price: FloatArray
) -> tuple[RsiReversionState, list[RawSignal]]:
    """Mean reversion on Wilder's RSI.

    FLAT → LONG when RSI < oversold, LONG → FLAT when RSI > exit_level; with allow_short also
    FLAT → SHORT when RSI > overbought and SHORT → FLAT when RSI < exit_level. Strength is the
    distance past the threshold as a fraction of the room beyond it: (oversold − RSI)/oversold,
    (RSI − overbought)/(100 − overbought), (RSI − exit)/(100 − exit), (exit − RSI)/exit.
    """
    _, rsi = rsi_step(state.rsi, price)
    entries = [(_triggers(rsi < config.oversold), Direction.LONG)]
    if config.allow_short:
        entries.append((_triggers(rsi > config.overbought), Direction.SHORT))
    transitions: Transitions = {
        Direction.FLAT: entries,
        Direction.LONG: [(_triggers(rsi > config.exit_level), Direction.FLAT)],
        Direction.SHORT: [(_triggers(rsi < config.exit_level), Direction.FLAT)],
    }
    state.position, changes = _walk(state.position, transitions)
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
        signals.append(RawSignal(index, after, _fraction(strength), reason, {"rsi": value}))
    return state, signals


# --- Bollinger breakout -----------------------------------------------------------------------


def _bollinger_breakout_step(
    config: BollingerBreakout, state: BollingerBreakoutState, price: FloatArray
) -> tuple[BollingerBreakoutState, list[RawSignal]]:
    """Breakout through a Bollinger band, exit on the way back through the middle.

    FLAT → LONG when price > upper, LONG → FLAT when price < middle; with allow_short also
    FLAT → SHORT when price < lower and SHORT → FLAT when price > middle. Strength is the
    distance past the band (entries) or the middle (exits) in standard deviations, capped at 1
    (full strength when the window has no spread at all).
    """
    _, bands = bollinger_step(state.bands, price)
    entries = [(_triggers(price > bands.upper), Direction.LONG)]
    if config.allow_short:
        entries.append((_triggers(price < bands.lower), Direction.SHORT))
    transitions: Transitions = {
        Direction.FLAT: entries,
        Direction.LONG: [(_triggers(price < bands.middle), Direction.FLAT)],
        Direction.SHORT: [(_triggers(price > bands.middle), Direction.FLAT)],
    }
    state.position, changes = _walk(state.position, transitions)
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
        signals.append(RawSignal(index, after, _fraction(strength), reason, indicators))
    return state, signals


# --- volatility premium -----------------------------------------------------------------------


def _vol_premium_step(
    config: VolatilityPremium, state: VolPremiumState, price: FloatArray, implied: FloatArray
) -> tuple[VolPremiumState, list[RawSignal]]:
    """Sell premium while implied vol is rich to realised vol.

    Realised vol is the windowed RMS of log returns over `realised_window` ticks, annualised with
    `ticks_per_year` (flows.indicators.realised_vol_step); both vols are fractions per year.
    FLAT → SHORT when implied − realised > threshold; SHORT → FLAT when implied − realised <
    exit_threshold. A NaN implied vol (none solved at that tick) triggers nothing. Strength is
    the spread past the threshold in units of `threshold`, capped at 1: (spread − threshold) /
    threshold on entry, (exit_threshold − spread) / threshold on exit.
    """
    _, realised = realised_vol_step(state.realised, price)
    spread = implied - realised
    transitions: Transitions = {
        Direction.FLAT: [(_triggers(spread > config.threshold), Direction.SHORT)],
        Direction.SHORT: [(_triggers(spread < config.exit_threshold), Direction.FLAT)],
    }
    state.position, changes = _walk(state.position, transitions)
    at = [index for index, _, _ in changes]
    rows = zip(
        changes, implied[at].tolist(), realised[at].tolist(), spread[at].tolist(), strict=True
    )
    signals = []
    for (index, _, after), iv, rv, gap in rows:
        if after is Direction.SHORT:
            strength = (gap - config.threshold) / config.threshold
            reason = (
                f"implied vol {iv:.4f} exceeds realised vol {rv:.4f} by {gap:.4f}, "
                f"above threshold {config.threshold:g}"
            )
        else:
            strength = (config.exit_threshold - gap) / config.threshold
            reason = (
                f"implied vol {iv:.4f} minus realised vol {rv:.4f} is {gap:.4f}, "
                f"below exit threshold {config.exit_threshold:g}"
            )
        # An infinite implied vol passes the entry test; keep the indicators finite anyway.
        indicators = _finite({"implied_vol": iv, "realised_vol": rv, "vol_spread": gap})
        signals.append(RawSignal(index, after, _fraction(strength), reason, indicators))
    return state, signals


# --- dispatch ---------------------------------------------------------------------------------


def _label(value: float) -> str:
    """A parameter for a label: at most four decimals, no trailing zeros (2.0 → "2")."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def strategy_name(config: StrategyConfig) -> str:
    """A short label (≤ 40 characters, the signals' `strategy` column), e.g. "ma_cross(10,30)".

    It names the kind and its windows (and Bollinger's width, vol premium's entry threshold);
    ",short" marks allow_short. The other thresholds live in the versioned algorithm config
    that each signal references.
    """
    if isinstance(config, VolatilityPremium):
        return f"vol_premium({config.realised_window},{_label(config.threshold)})"
    short = ",short" if config.allow_short else ""
    if isinstance(config, MovingAverageCross):
        return f"ma_cross({config.fast},{config.slow}{short})"
    if isinstance(config, RsiReversion):
        return f"rsi_reversion({config.period}{short})"
    return f"bollinger_breakout({config.period},{_label(config.width)}{short})"


def new_strategy_state(config: StrategyConfig) -> StrategyState:
    """A fresh state (no history, position FLAT) for `config`."""
    if isinstance(config, MovingAverageCross):
        return MaCrossState(fast=new_sma_state(config.fast), slow=new_sma_state(config.slow))
    if isinstance(config, RsiReversion):
        return RsiReversionState(rsi=new_rsi_state(config.period))
    if isinstance(config, BollingerBreakout):
        return BollingerBreakoutState(bands=new_bollinger_state(config.period, config.width))
    return VolPremiumState(
        realised=new_realised_vol_state(config.realised_window, config.ticks_per_year)
    )


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
    vol_premium and ignored by the others. The strategies here react to the order of ticks, not
    to their times, so `ts` is only checked to align with `price`. Returns the state (updated in
    place) and the signals in index order; `RawSignal.index` is the position within this chunk.
    """
    prices = np.asarray(price, dtype=np.float64)
    times = np.asarray(ts)
    if prices.ndim != 1 or times.shape != prices.shape:
        raise ValueError(f"ts {times.shape} and price {prices.shape} must be equal 1-D shapes")
    if isinstance(config, MovingAverageCross) and isinstance(state, MaCrossState):
        return _ma_cross_step(config, state, prices)
    if isinstance(config, RsiReversion) and isinstance(state, RsiReversionState):
        return _rsi_reversion_step(config, state, prices)
    if isinstance(config, BollingerBreakout) and isinstance(state, BollingerBreakoutState):
        return _bollinger_breakout_step(config, state, prices)
    if isinstance(config, VolatilityPremium) and isinstance(state, VolPremiumState):
        if implied_vol is None:
            raise ValueError("vol_premium needs implied_vol for every tick")
        implied = np.asarray(implied_vol, dtype=np.float64)
        if implied.shape != prices.shape:
            raise ValueError(f"implied_vol {implied.shape} must match price {prices.shape}")
        return _vol_premium_step(config, state, prices, implied)
    raise TypeError(f"{type(state).__name__} is not the state of a {config.kind} strategy")
