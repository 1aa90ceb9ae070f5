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

One module per subject: `moving_averages` (SMA, EMA), `oscillators` (Wilder's RSI), `bands`
(Bollinger), `volatility` (EWMA and windowed realised vol), `iv_rank` (IV rank and percentile);
`chunks` holds what they share, the 0.0001 price grid and the recursion carried between chunks.
"""

from __future__ import annotations

from flows.trading.indicators.bands import (
    BollingerBands,
    BollingerState,
    bollinger_step,
    new_bollinger_state,
)
from flows.trading.indicators.chunks import PRICE_SCALE, price_units
from flows.trading.indicators.iv_rank import (
    IvRank,
    IvRankState,
    iv_rank_step,
    iv_rank_update,
    new_iv_rank_state,
)
from flows.trading.indicators.moving_averages import (
    EmaState,
    SmaState,
    ema_step,
    new_ema_state,
    new_sma_state,
    sma_step,
    sma_window_sums,
)
from flows.trading.indicators.oscillators import RsiState, new_rsi_state, rsi_step
from flows.trading.indicators.volatility import (
    EwmaVolState,
    RealisedVolState,
    ewma_vol_step,
    new_ewma_vol_state,
    new_realised_vol_state,
    realised_vol_step,
)

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
