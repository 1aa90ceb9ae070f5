"""Bollinger bands, from exact integer window sums of quantised prices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flows.trading.indicators.chunks import PRICE_SCALE, FloatArray, as_chunk, price_units
from flows.trading.indicators.moving_averages import SmaState, advance_window, new_sma_state


class BollingerBands(NamedTuple):
    """Per-tick bands in quote currency; `std` is the population standard deviation (ddof 0)."""

    middle: FloatArray
    upper: FloatArray
    lower: FloatArray
    std: FloatArray


@dataclass(slots=True, eq=False)
class BollingerState:
    """The SMA window plus the window's sum of squared units.

    `total_sq` is kept modulo 2^64 (numpy's wrapping int64): single squares may wrap, but the
    sum of squared deviations derived from it is exact whenever its true value is below 2^63,
    e.g. deviations within ±1000 of the mean over 10,000 ticks.
    """

    width: float
    sma: SmaState
    total_sq: int = 0


def new_bollinger_state(period: int = 20, width: float = 2.0) -> BollingerState:
    """Empty bands over `period` ticks, `width` population standard deviations either side."""
    if period < 1:
        raise ValueError(f"period must be ≥ 1, got {period}")
    if not width >= 0:
        raise ValueError(f"width must be ≥ 0, got {width}")
    return BollingerState(width=float(width), sma=new_sma_state(period))


def bollinger_step(
    state: BollingerState, prices: npt.ArrayLike
) -> tuple[BollingerState, BollingerBands]:
    """Bollinger bands: middle = SMA(period), upper/lower = middle ± width × population std.

    Everything is computed from exact integer sums of prices quantised to 0.0001: with S the
    window sum, n the period, m = floor(S / n) and r = S − m·n, the sum of squared deviations
    from m is M = Q − n·m² − 2·m·r (exact in wrapping int64), and the variance is
    (M − r²/n) / n, so there is no cancellation between two large floats.
    """
    values = as_chunk(prices)
    n = values.shape[0]
    middle, upper, lower, std = (np.full(n, np.nan) for _ in range(4))
    if n == 0:
        return state, BollingerBands(middle, upper, lower, std)
    units = price_units(values)
    sums, leaving, first_warm = advance_window(state.sma, units)
    sq_sums = np.cumsum(units * units - leaving * leaving)
    sq_sums += state.total_sq
    state.total_sq = int(sq_sums[-1])
    period = state.sma.window
    s, q = sums[first_warm:], sq_sums[first_warm:]
    floor_mean = s // period
    remainder = s - floor_mean * period
    deviations_sq = q - period * floor_mean * floor_mean - 2 * floor_mean * remainder
    # The difference is ≥ 0 in exact arithmetic; clip the rounding of two nearly equal terms.
    variance = np.maximum(deviations_sq - remainder * remainder / period, 0.0) / period
    middle[first_warm:] = s / (period * PRICE_SCALE)
    std[first_warm:] = np.sqrt(variance) / PRICE_SCALE
    upper[first_warm:] = middle[first_warm:] + state.width * std[first_warm:]
    lower[first_warm:] = middle[first_warm:] - state.width * std[first_warm:]
    return state, BollingerBands(middle, upper, lower, std)
