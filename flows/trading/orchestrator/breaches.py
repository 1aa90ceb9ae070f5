"""Loss-limit breaches: the daily loss or the drawdown strictly past its limit halts the account."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.trading.orchestrator.verdicts import REL_TOL, distinct_figures, past_limit
from schemas.config import RiskLimits


@dataclass(frozen=True, slots=True)
class Breach:
    """A loss limit strictly past: the account must halt.

    rule "max_daily_loss": observed is day-start equity minus equity (currency).
    rule "max_drawdown": observed is 1 - equity / peak equity (a fraction, 0.2 = 20 %).
    """

    rule: str
    observed: float
    limit: float
    reason: str


def _daily_loss_breach(loss: float, limit: float) -> Breach:
    shown, shown_limit = distinct_figures(loss, limit)
    return Breach(
        rule="max_daily_loss",
        observed=loss,
        limit=limit,
        reason=f"daily loss {shown} exceeds max_daily_loss {shown_limit}",
    )


def _drawdown_breach(drawdown: float, limit: float) -> Breach:
    shown, shown_limit = distinct_figures(drawdown * 100, limit * 100)
    return Breach(
        rule="max_drawdown",
        observed=drawdown,
        limit=limit,
        reason=f"drawdown {shown}% exceeds max_drawdown {shown_limit}%",
    )


def check_breach(
    equity: float, day_start_equity: float, peak_equity: float, limits: RiskLimits
) -> Breach | None:
    """The daily-loss or drawdown breach at this equity (currency), daily loss first.

    peak_equity must be > 0 (it starts at the starting cash and only rises).
    """
    if limits.max_daily_loss is not None:
        loss = day_start_equity - equity
        if past_limit(loss, limits.max_daily_loss):
            return _daily_loss_breach(loss, limits.max_daily_loss)
    if limits.max_drawdown is not None:
        drawdown = 1.0 - equity / peak_equity
        if past_limit(drawdown, limits.max_drawdown):
            return _drawdown_breach(drawdown, limits.max_drawdown)
    return None


def first_breach(
    equity: npt.NDArray[np.float64],
    day_start_equity: npt.NDArray[np.float64],
    peak_before: float,
    limits: RiskLimits,
) -> tuple[int, Breach] | None:
    """The first index whose equity breaches a loss limit, for marking to market in bulk.

    equity and day_start_equity are 1-D, same length, currency, in event order; the day may
    change inside the arrays. The peak at index i is max(peak_before, equity[: i + 1]);
    peak_before must be > 0. Same arithmetic as `check_breach` element by element, so the two
    agree exactly, including at the limit.
    """
    equity = np.asarray(equity, dtype=np.float64)
    day_start = np.asarray(day_start_equity, dtype=np.float64)
    if equity.ndim != 1 or equity.shape != day_start.shape:
        raise ValueError(
            f"equity {equity.shape} and day_start_equity {day_start.shape} must be 1-D "
            "and of the same length"
        )
    if limits.max_daily_loss is None and limits.max_drawdown is None:
        return None
    # A switched-off limit becomes +inf, which nothing exceeds.
    max_loss = math.inf if limits.max_daily_loss is None else limits.max_daily_loss
    max_drawdown = math.inf if limits.max_drawdown is None else limits.max_drawdown
    loss = day_start - equity
    loss_hit = (loss - max_loss) > REL_TOL * abs(max_loss)
    peak = np.maximum(np.maximum.accumulate(equity), peak_before)
    drawdown = 1.0 - equity / peak
    hit = loss_hit | ((drawdown - max_drawdown) > REL_TOL * abs(max_drawdown))
    if not hit.any():
        return None
    index = int(np.argmax(hit))
    if loss_hit[index]:
        return index, _daily_loss_breach(float(loss[index]), max_loss)
    return index, _drawdown_breach(float(drawdown[index]), max_drawdown)
