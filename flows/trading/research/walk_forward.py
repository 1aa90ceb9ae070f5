"""Walk-forward selection over the accounts of one sweep, and the stitched out-of-sample run.

Every combination of the sweep is an account that traded the whole stream in one pass, so at a
window's start its indicators and positions are those it reached by trading everything before:
state is warm, and nothing is replayed. For each window the objective ranks the combinations
on their equity and trades inside the training window (ties go to the first in sweep order);
the chosen one's test window is then out of sample.

Stitching adds up currency: in each test window the out-of-sample run gains exactly what the
chosen combination's equity gained from its last sample before the window to each sample in
it (a position the combination carried into the window is part of that, as it would be for a
switch made at the window's start at the marks of that time). The out-of-sample trades are the
chosen combination's round trips that close inside the test window. Window metrics are the
`RunMetrics` of the slice, computed as for a whole run with the equity at the slice's start as
its starting equity (turnover and commissions are whole-run figures, left out of windows).

Efficiency = annualised out-of-sample return / mean annualised in-sample return of the chosen
combinations, each annualised arithmetically (return x 365.25 days / window length), so that
short windows do not explode; None when the in-sample mean is not positive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from flows.trading.analytics import DAYS_PER_YEAR, MS_PER_DAY, RATIO_CAP, run_metrics
from flows.trading.research.metrics import (
    AccountActivity,
    SharpeSample,
    deflated_sharpe,
    return_grid,
    sweep_sharpe_variance,
    with_research_metrics,
)
from flows.trading.research.windows import Window
from schemas.metrics import RunMetrics
from schemas.trading import Trade

OBJECTIVES = ("sharpe", "sortino", "calmar", "total_return", "psr")
WHOLE_RUN_ONLY = ("turnover", "commissions")


@dataclass(frozen=True, slots=True)
class AccountSeries:
    """One combination's life over the whole stream: its equity samples at sorted event times
    (UTC ms), whether a position was open at each, and its round trips."""

    account_id: str
    parameters: Mapping[str, Any]
    ts: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    invested: npt.NDArray[np.bool_]
    trades: Sequence[Trade]
    starting_equity: float


@dataclass(slots=True)
class Slice:
    """Part of an account's life: samples in a window and the equity just before it."""

    ts: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    invested: npt.NDArray[np.bool_]
    trades: list[Trade]
    opening_equity: float

    def metrics(self) -> RunMetrics:
        exposure = float(self.invested.mean()) if self.invested.size else 0.0
        pnls = [t.pnl for t in self.trades]
        base = run_metrics(self.ts, self.equity, pnls, self.opening_equity, exposure)
        activity = AccountActivity(
            trade_pnls=pnls,
            spans=[(t.entry_ts, t.exit_ts) for t in self.trades],
            traded_notional=0.0,
            invested=self.invested,
        )
        return with_research_metrics(base, self.ts, self.equity, self.opening_equity, activity)

    def sharpe_sample(self) -> SharpeSample | None:
        return SharpeSample.of(return_grid(self.ts, self.equity, self.opening_equity).returns)


def slice_of(account: AccountSeries, start: int, end: int) -> Slice:
    """The account's samples and closed trades in [start, end)."""
    lo, hi = np.searchsorted(account.ts, [start, end], side="left")
    opening = float(account.equity[lo - 1]) if lo > 0 else account.starting_equity
    return Slice(
        ts=account.ts[lo:hi],
        equity=account.equity[lo:hi],
        invested=account.invested[lo:hi],
        trades=[t for t in account.trades if start <= t.exit_ts < end],
        opening_equity=opening,
    )


def window_figures(metrics: RunMetrics) -> dict[str, float]:
    return {k: v for k, v in metrics.values().items() if k not in WHOLE_RUN_ONLY}


def annualised(total_return: float, span_ms: int) -> float:
    """Arithmetic annualisation: total_return x 365.25 days / span."""
    return total_return * DAYS_PER_YEAR * MS_PER_DAY / span_ms if span_ms > 0 else 0.0


@dataclass(slots=True)
class Stitched:
    """The out-of-sample run being built, window by window."""

    level: float
    ts: list[npt.NDArray[np.int64]] = field(default_factory=list)
    equity: list[npt.NDArray[np.float64]] = field(default_factory=list)
    invested: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)

    def add(self, part: Slice) -> None:
        moved = part.equity - part.opening_equity + self.level
        self.ts.append(part.ts)
        self.equity.append(moved)
        self.invested.append(part.invested)
        self.trades.extend(part.trades)
        if moved.size:
            self.level = float(moved[-1])

    def as_slice(self, starting_equity: float) -> Slice:
        def joined(parts: list[Any], dtype: Any) -> Any:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        return Slice(
            ts=joined(self.ts, np.int64),
            equity=joined(self.equity, np.float64),
            invested=joined(self.invested, np.bool_),
            trades=self.trades,
            opening_equity=starting_equity,
        )


def objective_value(part: Slice, objective: str) -> float:
    """The training window's score. Sharpe and Sortino are taken on the window's return grid
    (`research.metrics.return_grid`, annualised to match): on a multi-day window that is the
    `RunMetrics` definition, and inside one day it still ranks (the daily figure would be 0)."""
    if objective not in ("sharpe", "sortino"):
        return float(getattr(part.metrics(), objective))
    grid = return_grid(part.ts, part.equity, part.opening_equity)
    returns = grid.returns
    if returns.size < 2:
        return 0.0
    mean = float(returns.mean())
    if objective == "sharpe":
        spread = float(returns.std(ddof=1))
    else:
        spread = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    if spread == 0:
        return RATIO_CAP if mean > 0 else 0.0
    return min(RATIO_CAP, mean / spread * math.sqrt(grid.periods_per_year))


def choose(
    accounts: Sequence[AccountSeries], window: Window, objective: str
) -> tuple[int, float, list[Slice]]:
    """The index of the best account on the training window, its score, and every account's
    slice of the window."""
    parts = [slice_of(a, window.train_from, window.train_to) for a in accounts]
    scores = [objective_value(part, objective) for part in parts]
    best = int(np.argmax(scores))  # argmax keeps the first of equal scores
    return best, scores[best], parts


def walk_forward(
    accounts: Sequence[AccountSeries], windows: Sequence[Window], objective: str
) -> dict[str, Any]:
    """The walk-forward report (`walk_forward` in `backtest --json`; see the module docstring)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r}: one of {', '.join(OBJECTIVES)}")
    if not accounts:
        raise ValueError("a walk-forward needs at least one combination")
    starting = accounts[0].starting_equity
    stitched = Stitched(level=starting)
    rows, in_sample_annual = [], []
    for window in windows:
        best, score, train_parts = choose(accounts, window, objective)
        chosen = accounts[best]
        in_sample = train_parts[best].metrics()
        samples = [part.sharpe_sample() for part in train_parts]
        in_sample = in_sample.model_copy(
            update={
                "deflated_sharpe": deflated_sharpe(
                    samples[best], len(accounts), sweep_sharpe_variance(samples)
                )
            }
        )
        test_part = slice_of(chosen, window.test_from, window.test_to)
        stitched.add(test_part)
        in_sample_annual.append(
            annualised(in_sample.total_return, window.train_to - window.train_from)
        )
        rows.append(
            {
                "train_from": window.train_from,
                "train_to": window.train_to,
                "test_from": window.test_from,
                "test_to": window.test_to,
                "chosen": chosen.account_id,
                "parameters": dict(chosen.parameters),
                "score": score,
                "in_sample": window_figures(in_sample),
                "out_of_sample": window_figures(test_part.metrics()),
            }
        )
    out_of_sample = stitched.as_slice(starting)
    oos_metrics = out_of_sample.metrics()
    tested_ms = sum(w.test_to - w.test_from for w in windows)
    oos_annual = annualised(oos_metrics.total_return, tested_ms)
    mean_in_sample = float(np.mean(in_sample_annual))
    return {
        "objective": objective,
        "combinations": len(accounts),
        "windows": rows,
        "out_of_sample": window_figures(oos_metrics),
        "annualised_out_of_sample_return": oos_annual,
        "annualised_in_sample_return": mean_in_sample,
        "efficiency": oos_annual / mean_in_sample if mean_in_sample > 0 else None,
        "equity": {
            "ts": out_of_sample.ts.tolist(),
            "equity": [round(v, 2) for v in out_of_sample.equity.tolist()],
        },
        "trades": [t.model_dump(mode="json") for t in out_of_sample.trades],
    }
