"""Implied volatility rank and percentile over a lookback of observations."""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flows.trading.indicators.chunks import FloatArray, as_chunk


class IvRank(NamedTuple):
    """IV rank and IV percentile, both in [0, 100]."""

    rank: FloatArray
    percentile: FloatArray


@dataclass(slots=True, eq=False)
class IvRankState:
    """The last `lookback` implied vols, in arrival order and sorted (for O(log n) queries)."""

    lookback: int
    window: deque[float] = field(default_factory=deque)
    ordered: list[float] = field(default_factory=list)


def new_iv_rank_state(lookback: int = 252) -> IvRankState:
    """An empty IV rank/percentile over the last `lookback` observations (≥ 2; 252 = a year)."""
    if lookback < 2:
        raise ValueError(f"lookback must be ≥ 2, got {lookback}")
    return IvRankState(lookback=lookback)


def iv_rank_update(state: IvRankState, implied_vol: float) -> tuple[float, float]:
    """Add one implied-vol observation and return (IV rank, IV percentile), NaN until warm.

    Over the window of the last `lookback` observations, the current one included:
    - IV rank = 100 × (iv − min) / (max − min); 50 when max == min (no range to place it in);
    - IV percentile = 100 × (number of the other lookback − 1 observations strictly below iv)
      / (lookback − 1).
    A non-finite observation (no implied vol could be solved) is skipped and returns NaNs.
    """
    if not math.isfinite(implied_vol):
        return math.nan, math.nan
    iv = float(implied_vol)
    state.window.append(iv)
    bisect.insort(state.ordered, iv)
    if len(state.window) > state.lookback:
        del state.ordered[bisect.bisect_left(state.ordered, state.window.popleft())]
    if len(state.window) < state.lookback:
        return math.nan, math.nan
    low, high = state.ordered[0], state.ordered[-1]
    rank = 50.0 if high == low else 100.0 * (iv - low) / (high - low)
    percentile = 100.0 * bisect.bisect_left(state.ordered, iv) / (state.lookback - 1)
    return rank, percentile


def iv_rank_step(state: IvRankState, implied_vols: npt.ArrayLike) -> tuple[IvRankState, IvRank]:
    """`iv_rank_update` over a chunk of implied vols (fractions per year)."""
    values = as_chunk(implied_vols)
    rank, percentile = np.full(values.shape[0], np.nan), np.full(values.shape[0], np.nan)
    for i, iv in enumerate(values.tolist()):
        rank[i], percentile[i] = iv_rank_update(state, iv)
    return state, IvRank(rank, percentile)
