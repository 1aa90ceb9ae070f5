"""Metrics that say how far a backtest's figures can be trusted, beside `analytics.run_metrics`.

Return grid (what "a period" is for every return-based metric here):
- a run that covers two or more exchange trading days is sampled daily: the last equity sample
  of each trading day (`analytics.end_of_day_equity`), the first day's return against the
  starting equity, 252 periods a year (the same returns as `RunMetrics.sharpe`);
- a run inside one trading day is sampled on a 5-minute grid of event time: the last equity
  sample at or before the end of each 5-minute bar (bars aligned to multiples of 5 minutes
  since the epoch; a bar without a sample carries the previous equity, a 0 return), the first
  return against the starting equity, 252 x 78 periods a year (a 6.5-hour session).

Definitions (fractions are fractions: 0.05 is 5 %):
- psr: probabilistic Sharpe ratio against a benchmark Sharpe of 0 (Bailey and López de Prado,
  2012): Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2)), SR the per-period
  Sharpe ratio (sample standard deviation), g3 and g4 the skewness and (non-excess) kurtosis of
  the period returns as population moments, n the number of returns.
- deflated_sharpe: the PSR against the Sharpe ratio the best of N unskilled trials would show
  (Bailey and López de Prado, 2014): SR* = sqrt(V) ((1 - e) Phi^-1(1 - 1/N) + e Phi^-1(1 - 1/(N
  e_))), e the Euler-Mascheroni constant, e_ Euler's number, V the variance of the trials'
  per-period Sharpe ratios. With one trial (or no variance) SR* = 0 and it equals `psr`.
- sqn: System Quality Number (Van Tharp): sqrt(trades) x mean / sample std of trade PnL.
- omega: sum of period returns above 0 / sum of the magnitudes below 0 (threshold 0).
- cvar_95: expected shortfall: the mean of the worst 5 % of period returns (the worst
  floor(0.05 (n - 1)) + 1 returns, as empyrical counts them); negative for losses.
- tail_ratio: |95th percentile| / |5th percentile| of period returns (linear interpolation).
- ulcer_index: sqrt(mean(drawdown^2)) of the grid equity (starting equity first), drawdowns
  as fractions of the running peak (Martin's definition, in fractions rather than percent).
- avg_holding_hours, max_holding_hours: exit minus entry time of the round trips.
- turnover: traded notional (every fill, both sides) / mean equity: how many times the average
  equity changed hands over the run (not annualised).
- longest_flat_hours: the longest stretch of account snapshots without any open position,
  from its first snapshot to the next snapshot with a position (or the last snapshot).

Ratios that can explode are capped at +/- `analytics.RATIO_CAP`; without enough data a metric
is 0 (PSR and DSR need three returns that vary).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from flows.trading.analytics import (
    DEFAULT_EXCHANGE_TZ,
    RATIO_CAP,
    TRADING_DAYS_PER_YEAR,
    end_of_day_equity,
)
from schemas.metrics import RunMetrics

INTRADAY_STEP_MS = 300_000
INTRADAY_PERIODS_PER_YEAR = TRADING_DAYS_PER_YEAR * 78
EULER_GAMMA = 0.5772156649015329
MS_PER_HOUR = 3_600_000

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ReturnGrid:
    """Period returns on a stated grid and the grid's equity (the starting equity first)."""

    name: str  # "daily" or "5min"
    periods_per_year: int
    returns: Floats
    equity: Floats


@dataclass(frozen=True, slots=True)
class SharpeSample:
    """What the PSR needs of a return series: the per-period Sharpe ratio, the number of
    returns, and their skewness and kurtosis (population moments, non-excess kurtosis)."""

    sharpe: float
    count: int
    skew: float
    kurtosis: float

    @classmethod
    def of(cls, returns: npt.ArrayLike) -> SharpeSample | None:
        """None with fewer than three returns, or returns that do not vary."""
        values = np.asarray(returns, dtype=np.float64)
        # Identical returns have no spread; their float mean can leave a ~1e-18 one behind.
        if values.size < 3 or float(np.ptp(values)) == 0.0:
            return None
        # The ratio and the moments do not depend on the scale; scaling to |r| <= 1 keeps the
        # third and fourth powers of tiny returns (1e-112) from underflowing to 0.
        values = values / float(np.max(np.abs(values)))
        deviation = float(values.std(ddof=1))
        if not deviation > 0 or not math.isfinite(deviation):
            return None
        # population (biased) central moments, as scipy.stats' skew and kurtosis with
        # bias=True; not scipy.stats itself: importing it costs a second of every backtest
        m2, m3, m4 = (float(np.mean((values - values.mean()) ** k)) for k in (2, 3, 4))
        return cls(
            sharpe=float(values.mean()) / deviation,
            count=int(values.size),
            skew=m3 / m2**1.5,
            kurtosis=m4 / m2**2,
        )


def return_grid(
    ts: npt.ArrayLike,
    equity: npt.ArrayLike,
    starting_equity: float,
    tz: tzinfo = DEFAULT_EXCHANGE_TZ,
) -> ReturnGrid:
    """The run's equity on its grid (see the module docstring) and the returns between."""
    times = np.asarray(ts, dtype=np.int64)
    samples = np.asarray(equity, dtype=np.float64)
    if samples.size == 0:
        return ReturnGrid("daily", TRADING_DAYS_PER_YEAR, np.zeros(0), np.array([starting_equity]))
    days, end_of_day = end_of_day_equity(times, samples, tz)
    if len(days) >= 2:
        grid, name, per_year = end_of_day, "daily", TRADING_DAYS_PER_YEAR
    else:
        first_bar = int(times[0]) // INTRADAY_STEP_MS
        last_bar = int(times[-1]) // INTRADAY_STEP_MS
        bar_ends = (np.arange(first_bar, last_bar + 1, dtype=np.int64) + 1) * INTRADAY_STEP_MS
        last_sample = np.searchsorted(times, bar_ends, side="left") - 1
        grid, name, per_year = samples[last_sample], "5min", INTRADAY_PERIODS_PER_YEAR
    with_start = np.concatenate(([float(starting_equity)], grid))
    previous = with_start[:-1]
    with np.errstate(over="ignore", invalid="ignore"):
        returns = np.divide(
            with_start[1:] - previous, previous, out=np.zeros(grid.size), where=previous > 0
        )
    return ReturnGrid(name, per_year, returns, with_start)


def _capped(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return max(-RATIO_CAP, min(RATIO_CAP, value))


def probabilistic_sharpe(sample: SharpeSample | None, benchmark: float = 0.0) -> float:
    """P(true Sharpe > `benchmark`) given the sample (both per period); 0 without a sample."""
    if sample is None:
        return 0.0
    sr = sample.sharpe
    # (g4 - 1) >= g3^2 for population moments, so this is a square, >= 0; only a degenerate
    # two-valued series reaches 0, where the estimate has no spread.
    spread = 1.0 - sample.skew * sr + (sample.kurtosis - 1.0) / 4.0 * sr * sr
    if not spread > 0:
        return 1.0 if sr > benchmark else 0.0
    z = (sr - benchmark) * math.sqrt(sample.count - 1) / math.sqrt(spread)
    return 0.5 * math.erfc(-z / math.sqrt(2.0))  # the normal CDF, exact in the left tail


def expected_max_sharpe(trials: int, variance: float) -> float:
    """The Sharpe ratio (per period) the best of `trials` skill-less strategies is expected to
    show when their Sharpe ratios vary with `variance`; 0 for one trial or no variance."""
    if trials <= 1 or not variance > 0:
        return 0.0
    normal = NormalDist()
    quantiles = [normal.inv_cdf(1.0 - 1.0 / trials), normal.inv_cdf(1.0 - 1.0 / (trials * math.e))]
    expected = (1.0 - EULER_GAMMA) * quantiles[0] + EULER_GAMMA * quantiles[1]
    return float(math.sqrt(variance) * expected)


def deflated_sharpe(sample: SharpeSample | None, trials: int, variance: float) -> float:
    """The PSR against `expected_max_sharpe(trials, variance)`."""
    return probabilistic_sharpe(sample, expected_max_sharpe(trials, variance))


def sqn(trade_pnls: npt.ArrayLike) -> float:
    """sqrt(n) x mean / sample std of the trades' PnL; 0 with fewer than two trades."""
    pnls = np.asarray(trade_pnls, dtype=np.float64)
    if pnls.size < 2:
        return 0.0
    deviation = float(pnls.std(ddof=1))
    mean = float(pnls.mean())
    if deviation == 0:
        return math.copysign(RATIO_CAP, mean) if mean != 0 else 0.0
    return _capped(math.sqrt(pnls.size) * mean / deviation)


def omega(returns: npt.ArrayLike) -> float:
    """Gains above 0 over losses below 0, summed over the period returns."""
    values = np.asarray(returns, dtype=np.float64)
    gains = float(values[values > 0].sum())
    losses = float(-values[values < 0].sum())
    if losses == 0:
        return RATIO_CAP if gains > 0 else 0.0
    return _capped(gains / losses)


def cvar(returns: npt.ArrayLike, cutoff: float = 0.05) -> float:
    """The mean of the worst `cutoff` share of the period returns; 0 without returns."""
    values = np.sort(np.asarray(returns, dtype=np.float64))
    if values.size == 0:
        return 0.0
    worst = int((values.size - 1) * cutoff) + 1
    return _capped(float(values[:worst].mean()))


def tail_ratio(returns: npt.ArrayLike) -> float:
    """|95th percentile| / |5th percentile| of the period returns; 0 without returns."""
    values = np.asarray(returns, dtype=np.float64)
    if values.size == 0:
        return 0.0
    right, left = (abs(float(q)) for q in np.percentile(values, [95, 5]))
    if left == 0:
        return RATIO_CAP if right > 0 else 0.0
    return _capped(right / left)


def ulcer_index(equity: npt.ArrayLike) -> float:
    """sqrt(mean(drawdown^2)), drawdowns as fractions of the running peak (clipped to 1)."""
    values = np.asarray(equity, dtype=np.float64)
    if values.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peaks > 0, (peaks - values) / peaks, 0.0)
    return float(np.sqrt(np.mean(np.clip(drawdown, 0.0, 1.0) ** 2)))


def holding_hours(spans: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """(average, longest) time in a round trip, hours, from (entry, exit) times in UTC ms."""
    if not spans:
        return 0.0, 0.0
    held = np.array([exit_ts - entry_ts for entry_ts, exit_ts in spans], dtype=np.float64)
    return float(held.mean()) / MS_PER_HOUR, float(held.max()) / MS_PER_HOUR


def longest_flat_ms(ts: npt.ArrayLike, invested: npt.ArrayLike) -> int:
    """The longest stretch of snapshots at sorted times `ts` with `invested` False: from its
    first snapshot to the next invested one (or the last snapshot), in ms."""
    times = np.asarray(ts, dtype=np.int64)
    flat = ~np.asarray(invested, dtype=bool)
    if times.size == 0 or not flat.any():
        return 0
    edges = np.diff(np.concatenate(([0], flat.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.minimum(np.flatnonzero(edges == -1), times.size - 1)
    return int((times[ends] - times[starts]).max())


def turnover(traded_notional: float, equity: npt.ArrayLike) -> float:
    """Traded notional / mean equity; 0 when equity is not positive on average."""
    values = np.asarray(equity, dtype=np.float64)
    mean = float(values.mean()) if values.size else 0.0
    return _capped(traded_notional / mean) if mean > 0 else 0.0


@dataclass(frozen=True, slots=True)
class AccountActivity:
    """What the research metrics read of one account besides its equity: round trips' net PnL
    and (entry, exit) times, the notional of every fill, and whether each equity sample had a
    position open."""

    trade_pnls: Sequence[float]
    spans: Sequence[tuple[int, int]]
    traded_notional: float
    invested: npt.ArrayLike


def with_research_metrics(
    metrics: RunMetrics,
    ts: npt.ArrayLike,
    equity: npt.ArrayLike,
    starting_equity: float,
    activity: AccountActivity,
    tz: tzinfo = DEFAULT_EXCHANGE_TZ,
) -> RunMetrics:
    """`metrics` (from `analytics.run_metrics`) with this module's metrics filled in. The
    deflated Sharpe ratio is for a single trial (= psr) until `deflate` sees the whole sweep."""
    grid = return_grid(ts, equity, starting_equity, tz)
    sample = SharpeSample.of(grid.returns)
    average_hold, longest_hold = holding_hours(activity.spans)
    psr = probabilistic_sharpe(sample)
    research = {
        "psr": psr,
        "deflated_sharpe": psr,
        "sqn": sqn(activity.trade_pnls),
        "omega": omega(grid.returns),
        "cvar_95": cvar(grid.returns),
        "tail_ratio": tail_ratio(grid.returns),
        "ulcer_index": ulcer_index(grid.equity),
        "avg_holding_hours": average_hold,
        "max_holding_hours": longest_hold,
        "turnover": turnover(activity.traded_notional, equity),
        "longest_flat_hours": longest_flat_ms(ts, activity.invested) / MS_PER_HOUR,
    }
    return RunMetrics.model_validate({**metrics.values(), **research})


def sweep_sharpe_variance(samples: Sequence[SharpeSample | None]) -> float:
    """The variance (ddof 1) of the per-period Sharpe ratios of a sweep's trials; a trial
    without a Sharpe ratio (no varying returns) counts as 0; 0 for fewer than two trials."""
    values = np.array([s.sharpe if s is not None else 0.0 for s in samples], dtype=np.float64)
    return float(values.var(ddof=1)) if values.size >= 2 else 0.0


def deflate(
    metrics: Sequence[RunMetrics], samples: Sequence[SharpeSample | None]
) -> list[RunMetrics]:
    """Each trial's metrics with `deflated_sharpe` against the best of all `len(metrics)`
    trials (the combinations of one sweep, whose Sharpe samples are `samples`)."""
    variance = sweep_sharpe_variance(samples)
    return [
        m.model_copy(update={"deflated_sharpe": deflated_sharpe(s, len(metrics), variance)})
        for m, s in zip(metrics, samples, strict=True)
    ]
