"""Incremental technical indicators: picklable state plus a step over a micro-batch of ticks.

Every indicator is a small state object (a slotted dataclass that Bytewax recovery snapshots with
pickle) and a step function over one chunk of a symbol's ticks, in event-time order:

    state, sma = sma_step(state, prices)        # sma.shape == prices.shape

Conventions:
- Prices are float64 in the quote currency; outputs are in the unit each docstring states.
- An output is NaN until its indicator is warm (has seen the ticks it needs).
- A step updates `state` in place and returns it. The ring buffers are O(window), so copying
  them per micro-batch would make a one-tick chunk cost O(window); callers that need the old
  state keep a snapshot (Bytewax does, by pickling).
- Cut invariance, bit for bit: splitting a stream into chunks anywhere (sizes 1, 7, 1000, ...)
  gives exactly the outputs and final state of one call over the whole stream. No float sum is
  ever restarted at a chunk boundary; instead:
    * windowed sums of prices (SMA, Bollinger) are exact int64 sums of prices quantised to
      1/PRICE_SCALE = 0.0001 of the currency (see `price_units`), so their order is irrelevant;
    * exponential recursions (EMA, Wilder's RSI, EWMA volatility) run through
      `scipy.signal.lfilter`, whose direct-form state `zi` is carried between chunks, so every
      tick sees the same floating-point operations whatever the cuts;
    * the windowed sum of squared log returns uses blocks aligned to the absolute tick count
      (see `RealisedVolState`), so each window sum is the same two sequential partial sums.
- Cost is O(1) amortised per tick: numpy over the chunk, no Python loop per tick (IV rank, an
  order-statistics indicator fed at quote rate, is the documented exception).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# US equities quote in 0.01 from $1 up and in 0.0001 below, so trades, quotes and the half-cent
# mids above $1 all lie on a 0.0001 grid: quantising to it loses nothing there and makes
# windowed sums exact integers. (Sub-dollar mids can fall on 0.00005: they round to 0.0001.)
PRICE_SCALE = 10_000

__all__ = [
    "PRICE_SCALE",
    "BollingerBands",
    "BollingerState",
    "EmaState",
    "EwmaVolState",
    "IvRank",
    "IvRankState",
    "RealisedVolState",
    "RsiState",
    "SmaState",
    "bollinger_step",
    "ema_step",
    "ewma_vol_step",
    "iv_rank_step",
    "iv_rank_update",
    "new_bollinger_state",
    "new_ema_state",
    "new_ewma_vol_state",
    "new_iv_rank_state",
    "new_realised_vol_state",
    "new_rsi_state",
    "new_sma_state",
    "price_units",
    "realised_vol_step",
    "rsi_step",
    "sma_step",
    "sma_window_sums",
]


def price_units(prices: npt.ArrayLike) -> IntArray:
    """Prices as int64 multiples of 1/PRICE_SCALE (0.0001 of the currency), rounded to nearest.

    Windowed sums of these are exact. A window's sum converts to float64 exactly while
    price × window < 9e11 (e.g. prices below 90 million at window 10,000).
    """
    units: IntArray = np.rint(np.asarray(prices, dtype=np.float64) * PRICE_SCALE).astype(np.int64)
    return units


def _as_chunk(prices: npt.ArrayLike) -> FloatArray:
    values: FloatArray = np.asarray(prices, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"expected a 1-D chunk of values, got shape {values.shape}")
    return values


def _smooth(values: FloatArray, alpha: float, carry: float) -> tuple[FloatArray, float]:
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


# --- simple moving average -------------------------------------------------------------------


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


def _advance_window(state: SmaState, units: IntArray) -> tuple[IntArray, IntArray, int]:
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
    sums, _, first_warm = _advance_window(state, units)
    return state, sums, first_warm


def sma_step(state: SmaState, prices: npt.ArrayLike) -> tuple[SmaState, FloatArray]:
    """Simple moving average over the last `window` prices (quote currency), NaN until full.

    Computed on prices quantised to 0.0001 (`price_units`): the mean is the exact window sum
    divided once by window × PRICE_SCALE, hence correctly rounded for on-grid prices.
    """
    values = _as_chunk(prices)
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] == 0:
        return state, out
    sums, _, first_warm = _advance_window(state, price_units(values))
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
    values = _as_chunk(prices)
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
        out[start:], state.carry = _smooth(values[start:], state.alpha, state.carry)
    return state, out


# --- relative strength index -----------------------------------------------------------------


@dataclass(slots=True, eq=False)
class RsiState:
    """Wilder's RSI over `period` price changes.

    `last_units` is the previous price in units (None before the first tick), `changes` how many
    changes have been seen (capped at `period`), `gain_sum`/`loss_sum` the exact sums of the
    first `period` gains and losses in units, and `gain_carry`/`loss_carry` the lfilter carries
    of the smoothed averages once seeded.
    """

    period: int
    last_units: int | None = None
    changes: int = 0
    gain_sum: int = 0
    loss_sum: int = 0
    gain_carry: float = 0.0
    loss_carry: float = 0.0


def new_rsi_state(period: int = 14) -> RsiState:
    """An empty Wilder RSI over `period` price changes (≥ 1)."""
    if period < 1:
        raise ValueError(f"period must be ≥ 1, got {period}")
    return RsiState(period=period)


def _rsi_from_averages(avg_gain: FloatArray, avg_loss: FloatArray) -> FloatArray:
    # No losses in the window means maximal strength, including the flat case 0/0.
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    result: FloatArray = np.where(avg_loss == 0.0, 100.0, rsi)
    return result


def rsi_step(state: RsiState, prices: npt.ArrayLike) -> tuple[RsiState, FloatArray]:
    """Wilder's RSI in [0, 100], NaN for the first `period` prices.

    Changes are taken between prices quantised to 0.0001 (exact integers). The average gain and
    loss are seeded with the simple mean of the first `period` changes, then smoothed with
    alpha = 1/period: avg[t] = avg[t−1] + (x[t] − avg[t−1]) / period. RSI = 100 − 100/(1 + RS)
    with RS = avg gain / avg loss, and 100 when the average loss is 0.
    """
    values = _as_chunk(prices)
    n = values.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return state, out
    units = price_units(values)
    if state.last_units is None:
        changes, first = np.diff(units), 1  # change k ends at price k + first
    else:
        changes, first = np.diff(units, prepend=state.last_units), 0
    state.last_units = int(units[-1])
    gains = np.maximum(changes, 0)
    losses = np.maximum(-changes, 0)
    period = state.period
    seeded_at = 0
    if state.changes < period:
        seeded_at = min(period - state.changes, changes.shape[0])
        state.gain_sum += int(gains[:seeded_at].sum())
        state.loss_sum += int(losses[:seeded_at].sum())
        state.changes += seeded_at
        if state.changes < period:
            return state, out
        avg_gain = np.array([state.gain_sum / period])
        avg_loss = np.array([state.loss_sum / period])
        out[first + seeded_at - 1] = _rsi_from_averages(avg_gain, avg_loss)[0]
        state.gain_carry = (1.0 - 1.0 / period) * float(avg_gain[0])
        state.loss_carry = (1.0 - 1.0 / period) * float(avg_loss[0])
    if seeded_at < changes.shape[0]:
        alpha = 1.0 / period
        avg_gains, state.gain_carry = _smooth(
            gains[seeded_at:].astype(np.float64), alpha, state.gain_carry
        )
        avg_losses, state.loss_carry = _smooth(
            losses[seeded_at:].astype(np.float64), alpha, state.loss_carry
        )
        out[first + seeded_at :] = _rsi_from_averages(avg_gains, avg_losses)
    return state, out


# --- Bollinger bands -------------------------------------------------------------------------


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
    values = _as_chunk(prices)
    n = values.shape[0]
    middle, upper, lower, std = (np.full(n, np.nan) for _ in range(4))
    if n == 0:
        return state, BollingerBands(middle, upper, lower, std)
    units = price_units(values)
    sums, leaving, first_warm = _advance_window(state.sma, units)
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


# --- realised volatility ---------------------------------------------------------------------


def _squared_log_returns(last_price: float | None, values: FloatArray) -> tuple[FloatArray, int]:
    """Squared log returns of a chunk, and the index of the price the first one belongs to."""
    if last_price is None:
        ratios, first = values[1:] / values[:-1], 1
    else:
        ratios, first = values / np.concatenate(([last_price], values[:-1])), 0
    log_returns = np.log(ratios)
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
    values = _as_chunk(prices)
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
        variance[start:], state.carry = _smooth(squared[start:], alpha, state.carry)
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
    values = _as_chunk(prices)
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


# --- implied volatility rank and percentile --------------------------------------------------


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
    values = _as_chunk(implied_vols)
    rank, percentile = np.full(values.shape[0], np.nan), np.full(values.shape[0], np.nan)
    for i, iv in enumerate(values.tolist()):
        rank[i], percentile[i] = iv_rank_update(state, iv)
    return state, IvRank(rank, percentile)
