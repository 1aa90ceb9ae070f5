"""What makes the indicators cut-invariant: exact prices on a grid, carried recursions.

Windowed sums of prices are exact int64 sums of prices quantised to 1/PRICE_SCALE (see
`price_units`), so their order is irrelevant; exponential recursions run through
`scipy.signal.lfilter` with its direct-form state carried between chunks (`smooth`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# US equities quote in 0.01 from $1 up and in 0.0001 below, so trades, quotes and the half-cent
# mids above $1 all lie on a 0.0001 grid: quantising to it loses nothing there and makes
# windowed sums exact integers. (Sub-dollar mids can fall on 0.00005: they round to 0.0001.)
PRICE_SCALE = 10_000


def price_units(prices: npt.ArrayLike) -> IntArray:
    """Prices as int64 multiples of 1/PRICE_SCALE (0.0001 of the currency), rounded to nearest.

    Windowed sums of these are exact. A window's sum converts to float64 exactly while
    price × window < 9e11 (e.g. prices below 90 million at window 10,000).
    """
    units: IntArray = np.rint(np.asarray(prices, dtype=np.float64) * PRICE_SCALE).astype(np.int64)
    return units


def as_chunk(prices: npt.ArrayLike) -> FloatArray:
    """A chunk of values as a 1-D float64 array; any other shape is refused."""
    values: FloatArray = np.asarray(prices, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"expected a 1-D chunk of values, got shape {values.shape}")
    return values


def smooth(values: FloatArray, alpha: float, carry: float) -> tuple[FloatArray, float]:
    """y[t] = alpha·x[t] + (1 − alpha)·y[t−1], with `carry` = (1 − alpha)·y[−1] (lfilter's zi).

    lfilter (direct form II transposed) computes each output as alpha·x + zi and then the next
    zi as (1 − alpha)·y, so handing the returned carry to the next chunk repeats exactly the
    operations of one uninterrupted call.
    """
    # Imported here: scipy.signal takes seconds to import, and only flows need it.
    from scipy.signal import lfilter

    smoothed, final = lfilter([alpha], [1.0, -(1.0 - alpha)], values, zi=[carry])
    result: FloatArray = smoothed
    return result, float(final[0])
