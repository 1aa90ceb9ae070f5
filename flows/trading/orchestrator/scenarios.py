"""Portfolio risk under shocks: the book's worst loss over a grid of spot and volatility moves.

Full revaluation: every option is priced again by Black-Scholes-Merton at the shocked spot and
volatility (one vectorised call over the whole grid), shares move linearly. Volatility is held
per contract (sticky strike) and moved by the same points for every option; a shocked
volatility below 0 counts as 0 (the option is worth its discounted intrinsic value).

The grid: volatility moves 0 and ±each of `scenario_vol_points`; for each of them every
underlying's spot moves 0 and ±each of `scenario_spot_pct`, each underlying on its own.
Underlyings are not assumed to move together, so, as SPAN margin sums its scanning risk over
products, the book's loss under one volatility move is the sum of each underlying's worst,
and the worst scenario is the volatility move with the largest such sum. Losses are in the
currency, positive when the book loses, relative to the same model at the unshocked point.

Sums run over positions in a fixed order, one element-wise addition at a time, so the result
is the same on every CPU (numpy's reductions may pair terms differently on another SIMD level).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flows.trading.orchestrator.verdicts import (
    OrderIntent,
    RiskView,
    ScenarioBook,
    Verdict,
    distinct_figures,
    past_limit,
    reject,
)
from flows.trading.pricing import option_price
from schemas.config import RiskLimits

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WorstScenario:
    """The book's worst loss (currency), the volatility move (annual, 0.05 = 5 points) and each
    underlying's spot move (fraction) that make it, and each row's own worst loss over the grid."""

    loss: float
    vol_shock: float
    spot_shocks: tuple[tuple[str, float], ...]
    position_losses: FloatArray

    def describe(self) -> str:
        moves = ", ".join(f"{name} {shock:+.1%}" for name, shock in self.spot_shocks)
        return f"spot {moves or 'unmoved'}, vol {self.vol_shock * 100:+.1f} points"


def shock_grid(shocks: Sequence[float]) -> FloatArray:
    """0 and ±each shock, ascending, without repeats."""
    grid = {0.0, *shocks, *(-shock for shock in shocks)}
    return np.array(sorted(grid), dtype=np.float64)


def worst_scenario(
    book: ScenarioBook, spot_pct: Sequence[float], vol_points: Sequence[float]
) -> WorstScenario:
    """The book's worst loss over the grid (see the module docstring)."""
    spot_moves, vol_moves = shock_grid(spot_pct), shock_grid(vol_points)
    losses = _row_losses(book, spot_moves, vol_moves)  # (vol, spot, row)
    names = sorted(set(book.underlying))
    by_underlying = np.zeros((len(names), len(vol_moves), len(spot_moves)))
    for row, name in enumerate(book.underlying):
        by_underlying[names.index(name)] += losses[:, :, row]
    total = np.zeros(len(vol_moves))
    for worst_of_one in by_underlying.max(axis=2):
        total += worst_of_one
    unmoved = int(np.searchsorted(vol_moves, 0.0))
    # Ties go to the unmoved volatility: a book of shares does not care, and should not read
    # as if it did.
    v = unmoved if not names or total[unmoved] == total.max() else int(np.argmax(total))
    worst_spot = by_underlying[:, v, :].argmax(axis=1)
    # + 0.0: a loss of -0.0 (a share at the unmoved spot) is recorded as 0.
    position_losses = losses.max(axis=(0, 1)) + 0.0 if len(book.underlying) else np.zeros(0)
    return WorstScenario(
        loss=float(total[v]) + 0.0 if len(names) else 0.0,
        vol_shock=float(vol_moves[v]),
        spot_shocks=tuple(
            (name, float(spot_moves[s])) for name, s in zip(names, worst_spot.tolist(), strict=True)
        ),
        position_losses=position_losses,
    )


def _row_losses(book: ScenarioBook, spot_moves: FloatArray, vol_moves: FloatArray) -> FloatArray:
    """Each row's loss (currency) at each (vol move, spot move): shape (vol, spot, row)."""
    rows = len(book.underlying)
    losses = np.zeros((len(vol_moves), len(spot_moves), rows))
    shares = np.flatnonzero(~book.option)
    # A share's value moves with its spot alone: units x spot x move, whatever the volatility.
    losses[:, :, shares] = -(spot_moves[:, None] * (book.units[shares] * book.spot[shares]))
    options = np.flatnonzero(book.option)
    if len(options):
        spot = book.spot[options] * (1.0 + spot_moves[:, None])  # (spot, option)
        vol = np.maximum(book.vol[options] + vol_moves[:, None, None], 0.0)  # (vol, 1, option)
        shocked = option_price(
            spot[None, :, :],
            book.strike[options],
            book.years[options],
            book.rate,
            vol,
            book.is_call[options],
            book.dividend,
        )
        base = shocked[int(np.searchsorted(vol_moves, 0.0)), int(np.searchsorted(spot_moves, 0.0))]
        losses[:, :, options] = (base - shocked) * book.units[options]
    return losses


def max_scenario_loss_rule(
    view: RiskView, intent: OrderIntent, limits: RiskLimits
) -> Verdict | None:
    """Observed is the worst scenario loss of the book after the order (currency)."""
    budget = limits.max_scenario_loss
    if budget is None or view.scenario is None:
        return None
    worst = worst_scenario(view.scenario, limits.scenario_spot_pct, limits.scenario_vol_points)
    if not past_limit(worst.loss, budget):
        return None
    shown, shown_budget = distinct_figures(worst.loss, budget)
    return reject(
        "max_scenario_loss",
        worst.loss,
        budget,
        f"worst scenario loss after the order {shown} ({worst.describe()}) exceeds "
        f"max_scenario_loss {shown_budget}",
    )
