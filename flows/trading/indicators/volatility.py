"""Realised volatility of log returns: RiskMetrics EWMA and a windowed RMS, annualised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.trading.indicators.chunks import FloatArray, as_chunk, smooth
from flows.trading.portable_math import log


def _squared_log_returns(last_price: float | None, values: FloatArray) -> tuple[FloatArray, int]:
    """Squared log returns of a chunk, and the index of the price the first one belongs to."""
    if last_price is None:
        ratios, first = values[1:] / values[:-1], 1
    else:
        ratios, first = values / np.concatenate(([last_price], values[:-1])), 0
    log_returns = log(ratios)
    squared: FloatArray = log_returns * log_returns
    return squared, first


@dataclass(slots=True, eq=False)
class EwmaVolState:
    """RiskMetrics EWMA variance of log returns with `decay` λ, annualised by ticks_per_year."""

    decay: float
    ticks_per_year: float
    last_price: float | None = None
    seeded: bool = False
    carry: float = 0.0


def new_ewma_vol_state(decay: float = 0.94, ticks_per_year: float = 252.0) -> EwmaVolState:
    """An empty EWMA vol with RiskMetrics' λ = `decay` in (0, 1), annualised by ticks_per_year.

    λ = 0.94 is RiskMetrics' daily choice; ticks_per_year is 252 for daily bars, 252 × 390 for
    minute bars.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be in (0, 1), got {decay}")
    if not ticks_per_year > 0:
        raise ValueError(f"ticks_per_year must be > 0, got {ticks_per_year}")
    return EwmaVolState(decay=float(decay), ticks_per_year=float(ticks_per_year))


def ewma_vol_step(state: EwmaVolState, prices: npt.ArrayLike) -> tuple[EwmaVolState, FloatArray]:
    """Annualised EWMA volatility: σ²[t] = λ·σ²[t−1] + (1 − λ)·r[t]², vol = sqrt(σ²·ticks/yr).

    r is the log return between consecutive prices (unquantised). The variance is seeded with the
    first squared return, so the output is NaN at the first price and defined from the second.
    As a fraction per year (0.20 = 20 vol points).
    """
    values = as_chunk(prices)
    n = values.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return state, out
    squared, first = _squared_log_returns(state.last_price, values)
    state.last_price = float(values[-1])
    if squared.shape[0] == 0:
        return state, out
    variance = np.empty(squared.shape[0])
    start = 0
    alpha = 1.0 - state.decay
    if not state.seeded:
        variance[0] = squared[0]
        state.carry = (1.0 - alpha) * squared[0]
        state.seeded = True
        start = 1
    if start < squared.shape[0]:
        variance[start:], state.carry = smooth(squared[start:], alpha, state.carry)
    out[first:] = np.sqrt(variance * state.ticks_per_year)
    return state, out


@dataclass(slots=True, eq=False)
class RealisedVolState:
    """Windowed realised volatility: RMS of the last `window` log returns, annualised.

    The window sum of squared returns is split at blocks of `window` returns aligned to the
    absolute return count: a window ending at offset o of block b is the suffix of block b − 1
    after o plus the prefix of block b up to o, each summed sequentially. Those partial sums depend
    only on the data, never on where chunks were cut, and no running sum drifts over a long run.

    `block` holds the squared returns of the current block (offsets < `offset`; zeros after),
    `prefix` their sequential sum, `suffix` the suffix sums of the previous complete block
    (length window + 1, suffix[k] = sum of offsets ≥ k, suffix[window] = 0; zeros before the
    first block completes), and `seen` the number of returns so far, capped at `window`.
    """

    window: int
    ticks_per_year: float
    block: FloatArray
    suffix: FloatArray
    last_price: float | None = None
    offset: int = 0
    prefix: float = 0.0
    seen: int = 0


def new_realised_vol_state(window: int, ticks_per_year: float) -> RealisedVolState:
    """Empty windowed vol over the last `window` log returns, annualised by `ticks_per_year`."""
    if window < 1:
        raise ValueError(f"window must be ≥ 1, got {window}")
    if not ticks_per_year > 0:
        raise ValueError(f"ticks_per_year must be > 0, got {ticks_per_year}")
    return RealisedVolState(
        window=window,
        ticks_per_year=float(ticks_per_year),
        block=np.zeros(window),
        suffix=np.zeros(window + 1),
    )


def _suffix_sums(blocks: FloatArray) -> FloatArray:
    """Suffix sums along the last axis, summed from the end, with a trailing zero."""
    shape = (*blocks.shape[:-1], blocks.shape[-1] + 1)
    out = np.zeros(shape)
    out[..., :-1] = np.cumsum(blocks[..., ::-1], axis=-1)[..., ::-1]
    return out


def _windowed_sums(state: RealisedVolState, squared: FloatArray) -> FloatArray:
    window, n = state.window, squared.shape[0]
    out = np.empty(n)
    # The rest of the current block continues its carried prefix (accumulate seeded with it,
    # which repeats the additions of an uncut run; 0.0 + x == x starts a fresh block).
    head = min(n, window - state.offset)
    prefixes = np.empty(head + 1)
    prefixes[0] = state.prefix
    prefixes[1:] = squared[:head]
    np.cumsum(prefixes, out=prefixes)
    out[:head] = state.suffix[state.offset + 1 : state.offset + head + 1] + prefixes[1:]
    state.block[state.offset : state.offset + head] = squared[:head]
    if state.offset + head < window:
        state.offset += head
        state.prefix = float(prefixes[-1])
        return out
    completed = _suffix_sums(state.block)
    # Offsets at and past `offset` hold zeros, so equal histories give equal states.
    state.block[:] = 0.0
    rest = squared[head:]
    if rest.shape[0] == 0:
        state.suffix, state.offset, state.prefix = completed, 0, 0.0
        return out
    # Whole blocks at once: pad the last to a full row (at most once per chunk, so O(1)
    # amortised); the padding's sums are never read.
    rows = -(-rest.shape[0] // window)
    padded = np.zeros(rows * window)
    padded[: rest.shape[0]] = rest
    blocks = padded.reshape(rows, window)
    block_prefixes = np.cumsum(blocks, axis=1)
    block_suffixes = _suffix_sums(blocks)
    previous = np.concatenate((completed[np.newaxis, :], block_suffixes[:-1]))
    out[head:] = (previous[:, 1:] + block_prefixes).ravel()[: rest.shape[0]]
    tail = rest.shape[0] % window
    if tail == 0:
        state.suffix, state.offset, state.prefix = block_suffixes[-1].copy(), 0, 0.0
    else:
        state.suffix = previous[-1].copy()
        state.block[:tail] = rest[rest.shape[0] - tail :]
        state.offset, state.prefix = tail, float(block_prefixes[-1, tail - 1])
    return out


def realised_vol_step(
    state: RealisedVolState, prices: npt.ArrayLike
) -> tuple[RealisedVolState, FloatArray]:
    """Annualised realised vol: sqrt(ticks_per_year × mean of the last `window` squared returns).

    RMS rather than standard deviation: the zero-mean realised-variance estimator, because at
    tick frequency the drift is noise and estimating it only adds variance. Log returns are
    between consecutive unquantised prices. NaN until `window` returns (window + 1 prices) have
    been seen. As a fraction per year (0.20 = 20 vol points).
    """
    values = as_chunk(prices)
    n = values.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return state, out
    squared, first = _squared_log_returns(state.last_price, values)
    state.last_price = float(values[-1])
    m = squared.shape[0]
    if m == 0:
        return state, out
    sums = _windowed_sums(state, squared)
    cold = min(m, max(0, state.window - state.seen - 1))
    state.seen = min(state.window, state.seen + m)
    out[first + cold :] = np.sqrt(sums[cold:] / state.window * state.ticks_per_year)
    return state, out
