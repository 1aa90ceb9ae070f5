"""Oscillators: Wilder's relative strength index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.trading.indicators.chunks import FloatArray, as_chunk, price_units, smooth


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
    values = as_chunk(prices)
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
        avg_gains, state.gain_carry = smooth(
            gains[seeded_at:].astype(np.float64), alpha, state.gain_carry
        )
        avg_losses, state.loss_carry = smooth(
            losses[seeded_at:].astype(np.float64), alpha, state.loss_carry
        )
        out[first + seeded_at :] = _rsi_from_averages(avg_gains, avg_losses)
    return state, out
