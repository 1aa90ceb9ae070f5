"""Performance analytics: daily performance by exchange trading day, and whole-run metrics.

Conventions:
- Time is event time, integer UTC milliseconds; a trading day is the calendar date in the
  exchange's time zone (`TradingHours.timezone`), so days follow daylight saving time.
- Equity is in currency (as `flows.trading.portfolio.equity_series` returns it); realised PnL and
  commissions are recorded in integer cents and reported in currency.
- Fractions are fractions: 0.01 is 1 %. That includes `return_pct`, like `max_drawdown` and
  `win_rate` beside it in `schemas.trading.DailyPerformance`.
- Every reported value is finite (the schemas reject NaN and infinity). Ratios whose
  denominator can vanish are capped at +/- `RATIO_CAP`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from flows.trading.portable_math import expm1, log, scalar
from schemas.common import money
from schemas.metrics import RunMetrics

MS_PER_DAY = 86_400_000
TRADING_DAYS_PER_YEAR = 252
DAYS_PER_YEAR = 365.25
RATIO_CAP = 1_000.0
"""Reported in place of an unbounded ratio: a profit factor without losing trades, a Sharpe or
Sortino ratio without (downside) variation, a Calmar ratio over a tiny drawdown, or the CAGR
of a run of a few days (which annualising makes astronomic). Values beyond it are clipped to
+/- RATIO_CAP."""

DEFAULT_EXCHANGE_TZ = ZoneInfo("America/New_York")
"""The default of `schemas.config.TradingHours.timezone`; pass the account's own zone."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(ts_ms: int) -> datetime:
    # Integer arithmetic: ts_ms / 1000 as a float would misplace instants by a millisecond.
    return _EPOCH + timedelta(milliseconds=ts_ms)


def trading_day(ts_ms: int, tz: tzinfo) -> date:
    """The calendar date in `tz` of the instant `ts_ms` (UTC ms)."""
    return _utc(ts_ms).astimezone(tz).date()


def next_day_start_ms(ts_ms: int, tz: tzinfo) -> int:
    """The first instant (UTC ms) of the trading day after the one holding `ts_ms`.

    That is local midnight of the next date, so a day is 23 or 25 hours long across a DST
    change. Where a zone skips midnight itself (clocks jump 00:00 -> 01:00), the day starts at
    the first local time that exists, which is what `zoneinfo` gives for the skipped time.
    """
    following = trading_day(ts_ms, tz) + timedelta(days=1)
    start = datetime.combine(following, time(0), tzinfo=tz).astimezone(UTC)
    return (start - _EPOCH) // timedelta(milliseconds=1)


def day_start_indices(ts: npt.NDArray[np.int64], tz: tzinfo) -> npt.NDArray[np.intp]:
    """Indices into the sorted times `ts` (UTC ms) where a new trading day begins (0 first).

    One time-zone conversion per day, not per sample: the boundaries are found by binary search.
    """
    starts = []
    i, n = 0, len(ts)
    while i < n:
        starts.append(i)
        i = int(np.searchsorted(ts, next_day_start_ms(int(ts[i]), tz), side="left"))
    return np.asarray(starts, dtype=np.intp)


def end_of_day_equity(
    ts: npt.NDArray[np.int64], equity: npt.NDArray[np.float64], tz: tzinfo
) -> tuple[list[date], npt.NDArray[np.float64]]:
    """The trading days present in the samples and the last equity sample of each."""
    starts = day_start_indices(ts, tz)
    if starts.size == 0:
        return [], np.zeros(0)
    last = np.append(starts[1:] - 1, len(ts) - 1)
    days = [trading_day(int(ts[i]), tz) for i in starts]
    return days, np.asarray(equity, dtype=np.float64)[last]


def _drawdowns(equity: npt.NDArray[np.float64], peak: float) -> tuple[float, float]:
    """(new high-water mark, largest drawdown fraction) of `equity` after a running `peak`.

    A drawdown is (peak - equity) / peak, clipped to [0, 1]: an account at or below zero is a
    100 % drawdown, and a non-positive peak has no meaningful fraction, so it counts as 1 when
    equity is below it.
    """
    peaks = np.maximum(np.maximum.accumulate(equity), peak)
    gap = peaks - equity
    if peaks[0] >= 1.0 and not math.isnan(peaks[-1]):
        # Peaks only rise, so all are positive (and at least 1, so no fraction overflows): no
        # case to tell apart, and clipping the largest fraction is clipping them all and
        # taking the largest (the same floats), without numpy's error-state context per call.
        return float(peaks[-1]), min(max(float((gap / peaks).max()), 0.0), 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fraction = np.where(peaks > 0, gap / peaks, np.where(gap > 0, 1.0, 0.0))
    return float(peaks[-1]), float(np.clip(fraction, 0.0, 1.0).max())


def _capped(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return max(-RATIO_CAP, min(RATIO_CAP, value))


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, capped; a zero denominator gives the cap with the numerator's
    sign (0 when the numerator is 0 too)."""
    if denominator == 0:
        return math.copysign(RATIO_CAP, numerator) if numerator != 0 else 0.0
    return _capped(numerator / denominator)


@dataclass(slots=True)
class DayTracker:
    """Accumulates one account's trading day for `schemas.trading.DailyPerformance`.

    A round trip's figures belong to the day it closes: `record_trade` takes its PnL net of its
    commissions and the commissions themselves (entry and exit), so over a run the daily
    commissions add up to the commissions of all closed trades. `realised_pnl` is reported
    gross of commissions (net PnL + commissions), so on a day that starts and ends flat
    `pnl = realised_pnl - commissions`. Feeding equity in batches of any size gives the same
    result as one sample at a time.
    """

    day: date | None = None
    start_equity: float = 0.0
    high_water_mark: float = 0.0
    max_drawdown: float = 0.0
    realised_cents: int = 0
    commissions_cents: int = 0
    trades: int = 0
    winning_trades: int = 0
    losing_trades: int = 0

    def start(self, day: date, equity: float) -> None:
        """Begin `day` (exchange date) with `equity` (currency), forgetting the previous day."""
        self.day = day
        self.start_equity = equity
        self.high_water_mark = equity
        self.max_drawdown = 0.0
        self.realised_cents = 0
        self.commissions_cents = 0
        self.trades = 0
        self.winning_trades = 0
        self.losing_trades = 0

    def observe(self, equity: npt.ArrayLike) -> None:
        """Take in equity samples (currency, in event order): high-water mark and drawdown."""
        values = np.atleast_1d(np.asarray(equity, dtype=np.float64))
        if values.size <= 16:  # most stretches between events are short: numpy costs more
            for value in values.tolist():
                self.observe_value(value)
            return
        self.high_water_mark, drawdown = _drawdowns(values, self.high_water_mark)
        self.max_drawdown = max(self.max_drawdown, drawdown)

    def observe_value(self, equity: float) -> None:
        """One equity sample; the same result as `observe([equity])`, without numpy's overhead
        (the account stage calls this for every stretch of ticks with a flat book)."""
        peak = max(self.high_water_mark, equity)
        gap = peak - equity
        drawdown = min(max(gap / peak, 0.0), 1.0) if peak > 0 else float(gap > 0)
        self.high_water_mark = peak
        self.max_drawdown = max(self.max_drawdown, drawdown)

    def observe_values(self, values: Sequence[float]) -> None:
        """Samples one at a time, as `observe_value` takes them (the same arithmetic, so the
        same figures), in one loop: the account stage's short stretches between events."""
        peak, worst = self.high_water_mark, self.max_drawdown
        for equity in values:
            if equity > peak:  # `max(peak, equity)`: the first unless the second is greater
                peak = equity
            gap = peak - equity
            drawdown = min(max(gap / peak, 0.0), 1.0) if peak > 0 else float(gap > 0)
            if drawdown > worst:
                worst = drawdown
        self.high_water_mark, self.max_drawdown = peak, worst

    def record_trade(self, pnl_cents: int, commission_cents: int) -> None:
        """Count a closed round trip: its PnL net of commissions and its commissions, in cents.

        A trade wins when its net PnL is above 0 and loses when below; 0 is neither.
        """
        self.trades += 1
        self.realised_cents += pnl_cents + commission_cents
        self.commissions_cents += commission_cents
        if pnl_cents > 0:
            self.winning_trades += 1
        elif pnl_cents < 0:
            self.losing_trades += 1

    def close(self, ts: int, end_equity: float) -> dict[str, Any]:
        """The day's `DailyPerformance` fields (all but the ids) at event time `ts`.

        `end_equity` is observed first, so it counts towards the high-water mark and drawdown.
        `return_pct` is pnl / start equity as a fraction (0 when the day started without
        positive equity; capped at `RATIO_CAP`).
        """
        if self.day is None:
            raise RuntimeError("close() before start()")
        self.observe_value(float(end_equity))  # one sample: what `observe` does, without numpy
        pnl = end_equity - self.start_equity
        return {
            "day": self.day,
            "ts": ts,
            "start_equity": round(self.start_equity, 2),
            "end_equity": round(end_equity, 2),
            "pnl": round(pnl, 2),
            "return_pct": _ratio(pnl, self.start_equity) if self.start_equity > 0 else 0.0,
            "realised_pnl": money(self.realised_cents),
            "commissions": money(self.commissions_cents),
            "trades": self.trades,
            "winning_trades": self.winning_trades,
            "losing_trades": self.losing_trades,
            "win_rate": self.winning_trades / self.trades if self.trades else 0.0,
            "max_drawdown": self.max_drawdown,
            "high_water_mark": round(self.high_water_mark, 2),
        }


def daily_row(row_id: str, run_id: str, account_id: str, day: dict[str, Any]) -> tuple[Any, ...]:
    """A `daily_performance` row in column order from `DayTracker.close`'s fields, stored as
    `schemas.tables.trusted_row` would store it (a test holds the two equal), without its
    generic conversion by column kind: every snapshot of every account writes the day so far."""
    return (
        row_id,
        run_id,
        account_id,
        day["day"],
        int(day["ts"]),
        round(float(day["start_equity"]), 2),
        round(float(day["end_equity"]), 2),
        round(float(day["pnl"]), 2),
        float(day["return_pct"]),
        round(float(day["realised_pnl"]), 2),
        round(float(day["commissions"]), 2),
        int(day["trades"]),
        int(day["winning_trades"]),
        int(day["losing_trades"]),
        float(day["win_rate"]),
        float(day["max_drawdown"]),
        round(float(day["high_water_mark"]), 2),
    )


def _max_drawdown_duration_ms(ts: npt.NDArray[np.int64], equity: npt.NDArray[np.float64]) -> int:
    """Longest time from a peak to the first sample back at or above it (or to the last sample
    when equity never recovers), in ms."""
    at_peak = equity >= np.maximum.accumulate(equity)
    last_peak = np.maximum.accumulate(np.where(at_peak, np.arange(len(equity)), 0))
    # Sample i ends (or continues) a drawdown when the sample before it was under water; its
    # duration runs from the peak before that sample.
    under_before = ~at_peak[:-1]
    if not under_before.any():
        return 0
    durations = ts[1:] - ts[last_peak[:-1]]
    return int(durations[under_before].max())


def run_metrics(
    ts: npt.NDArray[np.int64],
    equity: npt.NDArray[np.float64],
    trade_pnls: Sequence[float],
    starting_equity: float,
    exposure: float,
    *,
    commissions: float = 0.0,
    tz: tzinfo = DEFAULT_EXCHANGE_TZ,
) -> RunMetrics:
    """Whole-run performance metrics (stored flat in `schemas.config.BacktestRun.metrics`).

    Inputs: equity samples (currency) at sorted event times `ts` (UTC ms), the net PnL of each
    closed round trip (currency), the starting equity, and `exposure` and `commissions` (the
    fraction of time in the market and the commissions paid, computed by the caller and passed
    through). `final_equity` is the last sample (the starting equity without samples).

    - total_return: last equity / starting equity - 1 (capped at `RATIO_CAP`, which only a
      near-zero starting equity could reach).
    - cagr: compounded over calendar time from the first to the last sample in 365.25-day
      years; -1 whenever equity ends at or below 0; otherwise 0 for a run shorter than one
      day (annualising hours is noise); capped at `RATIO_CAP`.
    - annual_volatility, sharpe, sortino: from daily returns of end-of-day equity (the last
      sample of each exchange trading day; the first day's return is against
      `starting_equity`), annualised by sqrt(252) with a risk-free rate of 0; volatility and
      Sharpe use the sample standard deviation, Sortino the downside deviation against 0 over
      all days. All three are 0 with fewer than two daily returns. A day that starts from
      non-positive equity counts as a 0 return (the account is bust; the drawdown says so).
    - max_drawdown: the largest fall from a running peak as a fraction of that peak, over every
      sample (intraday included), with `starting_equity` as the first peak; clipped to [0, 1].
    - max_drawdown_duration_days: the longest time from a peak to the first sample back at or
      above it, or to the last sample if equity never recovered, in calendar days.
    - calmar: cagr / max_drawdown (0 without a drawdown).
    - win_rate, profit_factor (gross profit / gross loss over trades; 0 without trades,
      `RATIO_CAP` with profits and no losses), expectancy (mean trade PnL), trade_count.
    """
    ts = np.asarray(ts, dtype=np.int64)
    samples = np.asarray(equity, dtype=np.float64)
    metrics = _trade_metrics(np.asarray(trade_pnls, dtype=np.float64))
    metrics["exposure"] = float(exposure)
    if samples.size == 0:
        metrics.update(_idle_run_metrics(starting_equity), commissions=commissions)
    else:
        metrics.update(_equity_metrics(ts, samples, starting_equity, tz), commissions=commissions)
    return RunMetrics.model_validate(metrics)


def _idle_run_metrics(starting_equity: float) -> dict[str, float]:
    """The equity metrics of a run without equity samples: nothing moved."""
    return {
        "total_return": 0.0,
        "cagr": 0.0,
        "annual_volatility": 0.0,
        "sharpe": 0.0,
        "sortino": 0.0,
        "max_drawdown": 0.0,
        "max_drawdown_duration_days": 0.0,
        "calmar": 0.0,
        "final_equity": float(starting_equity),
    }


def _equity_metrics(
    ts: npt.NDArray[np.int64], samples: npt.NDArray[np.float64], starting_equity: float, tz: tzinfo
) -> dict[str, float]:
    """The metrics of `run_metrics` that follow from the equity samples (at least one)."""
    final = float(samples[-1])
    total_return = _capped(final / starting_equity - 1)
    span_days = float(ts[-1] - ts[0]) / MS_PER_DAY
    cagr = _cagr(final, starting_equity, span_days)
    volatility, sharpe, sortino = _daily_return_ratios(ts, samples, starting_equity, tz)
    _, max_drawdown = _drawdowns(samples, starting_equity)
    with_start = np.concatenate(([starting_equity], samples))
    duration_ms = _max_drawdown_duration_ms(np.concatenate(([ts[0]], ts)), with_start)
    return {
        "total_return": total_return,
        "cagr": cagr,
        "annual_volatility": volatility,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": max_drawdown,
        "max_drawdown_duration_days": duration_ms / MS_PER_DAY,
        "calmar": _ratio(cagr, max_drawdown) if max_drawdown > 0 else 0.0,
        "final_equity": final,
    }


def _cagr(final: float, starting_equity: float, span_days: float) -> float:
    """Compound annual growth over `span_days` calendar days (see `run_metrics`)."""
    if final <= 0:
        return -1.0
    if span_days < 1:
        return 0.0
    # In logs, so that a huge annualised figure is capped instead of overflowing.
    log_growth = (scalar(log, final) - scalar(log, starting_equity)) * DAYS_PER_YEAR / span_days
    # The portable log and expm1: the C library's differ between machines in the last bit.
    cap = scalar(log, 1.0 + RATIO_CAP)
    return RATIO_CAP if log_growth > cap else scalar(expm1, log_growth)


def _daily_return_ratios(
    ts: npt.NDArray[np.int64],
    samples: npt.NDArray[np.float64],
    starting_equity: float,
    tz: tzinfo,
) -> tuple[float, float, float]:
    """(annual volatility, Sharpe, Sortino) of the daily returns of end-of-day equity."""
    _, end_of_day = end_of_day_equity(ts, samples, tz)
    previous = np.concatenate(([starting_equity], end_of_day[:-1]))
    with np.errstate(over="ignore"):
        returns = np.divide(
            end_of_day - previous,
            previous,
            out=np.zeros_like(end_of_day),
            where=previous > 0,
        )
    if returns.size < 2:
        return 0.0, 0.0, 0.0
    annual = math.sqrt(TRADING_DAYS_PER_YEAR)
    # A day starting from a sliver of equity can return ~1e300; its square overflows to
    # inf, and the caps below turn that into a finite report.
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(returns.mean())
        deviation = float(returns.std(ddof=1))
        downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    volatility = _capped(deviation * annual)
    sharpe = _ratio(mean * annual, deviation)
    sortino = _ratio(mean * annual, downside)
    return volatility, sharpe, sortino


def _trade_metrics(pnls: npt.NDArray[np.float64]) -> dict[str, float | int]:
    count = int(pnls.size)
    if count == 0:
        return {"win_rate": 0.0, "profit_factor": 0.0, "expectancy": 0.0, "trade_count": 0}
    gross_profit = float(pnls[pnls > 0].sum())
    gross_loss = float(-pnls[pnls < 0].sum())
    return {
        "win_rate": float(np.count_nonzero(pnls > 0)) / count,
        "profit_factor": _ratio(gross_profit, gross_loss),
        "expectancy": float(pnls.mean()),
        "trade_count": count,
    }
