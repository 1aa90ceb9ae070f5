"""Monte Carlo of closed trades: how lucky was the order, and the selection, of the trades?

Two resamplings of an account's round trips (net PnL, currency), each `simulations` times:
- bootstrap: as many trades as the run closed, drawn with replacement;
- reshuffle: the same trades in a random order (the final equity never changes; the path,
  so the drawdowns, do).
A resampled path starts at the starting equity and adds one trade at a time; its k-th trade
closes at the run's k-th exit time, so drawdown durations keep the run's pace of trading.
Reported: percentiles 5, 50 and 95 (linear interpolation) of the final equity (currency), the
maximum drawdown (fraction of the running peak, as `RunMetrics.max_drawdown`) and the longest
drawdown (days from a peak to the first trade back at or above it, or to the last trade).
Seeded with numpy's PCG64 (`numpy.random.default_rng(seed)`): the same seed gives the same
figures on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MS_PER_DAY = 86_400_000
PERCENTILES = (5, 50, 95)
_CELLS_PER_CHUNK = 2_000_000  # bounds memory: simulations are resampled in blocks of rows

Floats = npt.NDArray[np.float64]


def path_statistics(paths: Floats, times: npt.NDArray[np.int64]) -> tuple[Floats, Floats, Floats]:
    """(final equity, maximum drawdown, longest drawdown in days) of each row of `paths`
    (equity after each trade, the starting equity in column 0) at `times` (UTC ms)."""
    peaks = np.maximum.accumulate(paths, axis=1)
    gap = peaks - paths
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(peaks > 0, gap / peaks, np.where(gap > 0, 1.0, 0.0))
    max_drawdown = np.clip(fraction, 0.0, 1.0).max(axis=1)
    at_peak = gap <= 0
    columns = np.arange(paths.shape[1])
    last_peak = np.maximum.accumulate(np.where(at_peak, columns, 0), axis=1)
    # As `analytics.run_metrics`: a point ends (or continues) a drawdown when the point before
    # it was under water; it has lasted since the peak before that point.
    durations = times[1:] - times[last_peak[:, :-1]]
    durations = np.where(at_peak[:, :-1], 0, durations)
    # A drawdown still open at the last trade has lasted since its peak, even when it began
    # with that trade.
    still_open = np.where(at_peak[:, -1], 0, times[-1] - times[last_peak[:, -1]])
    longest = np.maximum(durations.max(axis=1, initial=0), still_open) / MS_PER_DAY
    return paths[:, -1], max_drawdown, longest.astype(np.float64)


def _percentiles(values: Floats) -> dict[str, float]:
    found = np.percentile(values, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, found, strict=True)}


def _resampled(
    pnls: Floats,
    times: npt.NDArray[np.int64],
    starting_equity: float,
    draws: npt.NDArray[np.intp],
) -> tuple[Floats, Floats, Floats]:
    paths = starting_equity + np.cumsum(pnls[draws], axis=1)
    paths = np.hstack((np.full((draws.shape[0], 1), starting_equity), paths))
    return path_statistics(paths, times)


def monte_carlo(
    trade_pnls: Sequence[float],
    exit_ts: Sequence[int],
    starting_equity: float,
    start_ts: int,
    simulations: int,
    seed: int,
) -> dict[str, Any]:
    """Percentiles of both resamplings (see the module docstring). `exit_ts` are the trades'
    exit times (sorted or not) and `start_ts` the run's start, the time of the starting
    equity. Without trades every path is flat at the starting equity."""
    if simulations < 1:
        raise ValueError("the Monte Carlo needs at least one simulation")
    pnls = np.asarray(trade_pnls, dtype=np.float64)
    count = pnls.size
    times = np.concatenate(([start_ts], np.sort(np.asarray(exit_ts, dtype=np.int64))))
    rng = np.random.default_rng(seed)
    chunk = max(1, _CELLS_PER_CHUNK // max(count, 1))
    results: dict[str, list[tuple[Floats, Floats, Floats]]] = {"bootstrap": [], "reshuffle": []}
    for first in range(0, simulations, chunk):
        rows = min(chunk, simulations - first)
        bootstrap = rng.integers(0, max(count, 1), size=(rows, count))
        shuffled = rng.permuted(np.tile(np.arange(count), (rows, 1)), axis=1)
        results["bootstrap"].append(_resampled(pnls, times, starting_equity, bootstrap))
        results["reshuffle"].append(_resampled(pnls, times, starting_equity, shuffled))
    summary: dict[str, Any] = {"simulations": simulations, "seed": seed, "trades": count}
    for method, blocks in results.items():
        final, drawdown, longest = (np.concatenate(part) for part in zip(*blocks, strict=True))
        summary[method] = {
            "final_equity": _percentiles(final),
            "max_drawdown": _percentiles(drawdown),
            "longest_drawdown_days": _percentiles(longest),
        }
    return summary
