"""Moving averages: simple (exact, over a ring of quantised prices) and exponential."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.trading.indicators.chunks import (
    PRICE_SCALE,
    FloatArray,
    IntArray,
    as_chunk,
    price_units,
    smooth,
)


@dataclass(slots=True, eq=False)
class SmaState:
    """A rolling window of the last `window` prices in units of 1/PRICE_SCALE.

    `ring` holds the window (zeros where not yet filled, so they leave the sum as 0), `pos` is
    the slot of the oldest value (the next to be overwritten), `filled` how many slots hold
    prices (≤ window) and `total` the exact sum of the window in units.
    """

    window: int
    ring: IntArray
    pos: int = 0
    filled: int = 0
    total: int = 0


def new_sma_state(window: int) -> SmaState:
    """An empty SMA over the last `window` ticks (≥ 1)."""
    if window < 1:
        raise ValueError(f"window must be ≥ 1, got {window}")
    return SmaState(window=window, ring=np.zeros(window, dtype=np.int64))


def _ring_read(ring: IntArray, start: int, count: int) -> IntArray:
    """A copy of `count` ≤ len(ring) values of `ring` from slot `start` on, wrapping around."""
    end = start + count
    if end <= ring.shape[0]:
        return ring[start:end].copy()
    return np.concatenate((ring[start:], ring[: end - ring.shape[0]]))


def _ring_write(ring: IntArray, start: int, values: IntArray) -> None:
    """Write len(values) ≤ len(ring) values into `ring` from slot `start` on, wrapping around."""
    end = start + values.shape[0]
    if end <= ring.shape[0]:
        ring[start:end] = values
    else:
        split = ring.shape[0] - start
        ring[start:] = values[:split]
        ring[: end - ring.shape[0]] = values[split:]


def advance_window(state: SmaState, units: IntArray) -> tuple[IntArray, IntArray, int]:
    """Push `units` through the window: (window sums, values that left, index of first warm).

    The leaving value for the j-th new tick is the one that entered `window` ticks earlier: from
    the ring for j < window, from this chunk after that.
    """
    window, n = state.window, units.shape[0]
    head = min(n, window)
    leaving = _ring_read(state.ring, state.pos, head)
    if n > window:
        leaving = np.concatenate((leaving, units[: n - window]))
    sums = np.cumsum(units - leaving)
    sums += state.total
    # Only the last `window` values can still be in the window after this chunk.
    _ring_write(state.ring, (state.pos + n - head) % window, units[n - head :])
    state.pos = (state.pos + n) % window
    first_warm = max(0, window - state.filled - 1)
    state.filled = min(window, state.filled + n)
    state.total = int(sums[-1])
    return sums, leaving, min(first_warm, n)


def sma_window_sums(state: SmaState, units: IntArray) -> tuple[SmaState, IntArray, int]:
    """Exact window sums in price units for a chunk of `price_units`, and its first warm index.

    sums[j] is the sum over the `window` ticks ending at j; it is meaningful from the returned
    index on (earlier entries sum a partial window). For callers that compare averages exactly.
    """
    if units.shape[0] == 0:
        return state, np.zeros(0, dtype=np.int64), 0
    sums, _, first_warm = advance_window(state, units)
    return state, sums, first_warm


def sma_step(state: SmaState, prices: npt.ArrayLike) -> tuple[SmaState, FloatArray]:
    """Simple moving average over the last `window` prices (quote currency), NaN until full.

    Computed on prices quantised to 0.0001 (`price_units`): the mean is the exact window sum
    divided once by window × PRICE_SCALE, hence correctly rounded for on-grid prices.
    """
    values = as_chunk(prices)
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] == 0:
        return state, out
    sums, _, first_warm = advance_window(state, price_units(values))
    out[first_warm:] = sums[first_warm:] / (state.window * PRICE_SCALE)
    return state, out


# --- exponential moving average --------------------------------------------------------------


@dataclass(slots=True, eq=False)
class EmaState:
    """EMA smoothing `alpha` (weight of the newest price), and the lfilter carry once seeded."""

    alpha: float
    seeded: bool = False
    carry: float = 0.0


def new_ema_state(span: float | None = None, alpha: float | None = None) -> EmaState:
    """Give exactly one of `span` (≥ 1; alpha = 2 / (span + 1)) or `alpha` in (0, 1]."""
    if (span is None) == (alpha is None):
        raise ValueError("give exactly one of span or alpha")
    if span is not None:
        if not span >= 1:
            raise ValueError(f"span must be ≥ 1, got {span}")
        alpha = 2.0 / (span + 1.0)
    assert alpha is not None
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    return EmaState(alpha=float(alpha))


def ema_step(state: EmaState, prices: npt.ArrayLike) -> tuple[EmaState, FloatArray]:
    """Exponential moving average, ema[t] = alpha·p[t] + (1 − alpha)·ema[t−1] (quote currency).

    Seeded with the first price (ema[0] = p[0]), so it is defined from the first tick; a caller
    wanting a burn-in masks the first ~span values. Uses unquantised prices.
    """
    values = as_chunk(prices)
    n = values.shape[0]
    out = np.empty(n)
    if n == 0:
        return state, out
    start = 0
    if not state.seeded:
        out[0] = values[0]
        state.carry = (1.0 - state.alpha) * values[0]
        state.seeded = True
        start = 1
    if start < n:
        out[start:], state.carry = smooth(values[start:], state.alpha, state.carry)
    return state, out
