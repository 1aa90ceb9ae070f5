"""Shock revaluation: the book's worst loss against an independent Black-Scholes (scipy's
normal distribution), and the rule just inside and just past its budget on an option book."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from flows.trading.orchestrator import APPROVED, ScenarioBook, decide, worst_scenario
from flows.trading.orchestrator.scenarios import shock_grid
from tests.flows.trading.orchestrator.scenarios import no_limits, scenario

RATE, DIVIDEND = 0.04, 0.01

# (underlying, spot, units, option?, strike, years, vol, call?)
ROWS = [
    ("AAPL", 190.0, 200.0, True, 195.0, 30 / 365, 0.28, True),  # 2 calls long
    ("AAPL", 190.0, -100.0, True, 180.0, 30 / 365, 0.31, False),  # 1 put written
    ("AAPL", 190.0, -50.0, False, 0.0, 0.0, 0.0, False),  # 50 shares short
    ("SPY", 600.0, -300.0, True, 590.0, 9 / 365, 0.15, False),  # 3 puts written
    ("SPY", 600.0, 100.0, False, 0.0, 0.0, 0.0, False),  # 100 shares long
]


def _book(rows: list[tuple[str, float, float, bool, float, float, float, bool]]) -> ScenarioBook:
    column = list(zip(*rows, strict=True))
    return ScenarioBook(
        underlying=tuple(column[0]),
        spot=np.array(column[1], dtype=np.float64),
        units=np.array(column[2], dtype=np.float64),
        option=np.array(column[3], dtype=bool),
        strike=np.array(column[4], dtype=np.float64),
        years=np.array(column[5], dtype=np.float64),
        vol=np.array(column[6], dtype=np.float64),
        is_call=np.array(column[7], dtype=bool),
        rate=RATE,
        dividend=DIVIDEND,
    )


def _bsm(spot: float, strike: float, years: float, vol: float, call: bool) -> float:
    """Textbook Black-Scholes-Merton with a dividend yield, on scipy's normal CDF."""
    d1 = (math.log(spot / strike) + (RATE - DIVIDEND + vol * vol / 2) * years) / (
        vol * math.sqrt(years)
    )
    d2 = d1 - vol * math.sqrt(years)
    grow, discount = math.exp(-DIVIDEND * years), math.exp(-RATE * years)
    if call:
        return float(spot * grow * norm.cdf(d1) - strike * discount * norm.cdf(d2))
    return float(strike * discount * norm.cdf(-d2) - spot * grow * norm.cdf(-d1))


def _loss(
    row: tuple[str, float, float, bool, float, float, float, bool], s: float, v: float
) -> float:
    _, spot, units, option, strike, years, vol, call = row
    if not option:
        return -units * spot * s
    shocked = _bsm(spot * (1 + s), strike, years, vol + v, call)
    return units * (_bsm(spot, strike, years, vol, call) - shocked)


def test_worst_scenario_matches_an_independent_revaluation() -> None:
    spot_pct, vol_points = [0.05, 0.10], [0.05]
    spots, vols = [0, 0.05, -0.05, 0.10, -0.10], [0, 0.05, -0.05]
    expected, expected_at = -math.inf, (0.0, {})
    for v in vols:
        total, moves = 0.0, {}
        for name in ("AAPL", "SPY"):
            losses = {s: sum(_loss(r, s, v) for r in ROWS if r[0] == name) for s in spots}
            moves[name] = max(losses, key=lambda s: losses[s])
            total += losses[moves[name]]
        if total > expected:
            expected, expected_at = total, (v, moves)
    worst = worst_scenario(_book(ROWS), spot_pct, vol_points)
    assert worst.loss == pytest.approx(expected, rel=1e-9)
    assert (worst.vol_shock, dict(worst.spot_shocks)) == expected_at
    own = [max(_loss(row, s, v) for s in spots for v in vols) for row in ROWS]
    assert worst.position_losses.tolist() == pytest.approx(own, rel=1e-9)


def test_the_grid_holds_zero_and_both_signs_of_every_shock() -> None:
    assert shock_grid([0.10, 0.05]).tolist() == [-0.10, -0.05, 0.0, 0.05, 0.10]
    assert shock_grid([]).tolist() == [0.0]


def test_a_shocked_volatility_below_zero_counts_as_zero() -> None:
    row = ("AAPL", 100.0, 100.0, True, 100.0, 0.5, 0.03, True)  # 3 % vol, shocked -5 points
    worst = worst_scenario(_book([row]), [], [0.05])
    intrinsic_on_forward = 100.0 * math.exp(-DIVIDEND * 0.5) - 100.0 * math.exp(-RATE * 0.5)
    assert worst.vol_shock == -0.05
    base = _bsm(100.0, 100.0, 0.5, 0.03, True)
    assert worst.loss == pytest.approx(100.0 * (base - intrinsic_on_forward), rel=1e-9)


def test_the_rule_approves_a_budget_equal_to_the_worst_loss_and_rejects_a_cent_less() -> None:
    book = _book(ROWS)
    worst = worst_scenario(book, [0.05, 0.10], [0.05])
    view, intent = scenario(scenario=book)
    assert decide(view, intent, no_limits(max_scenario_loss=worst.loss)) == APPROVED
    verdict = decide(view, intent, no_limits(max_scenario_loss=worst.loss - 0.01))
    assert (verdict.rule, verdict.observed) == ("max_scenario_loss", worst.loss)
    assert verdict.limit == pytest.approx(worst.loss - 0.01)
    assert worst.describe() in verdict.reason


def test_a_book_of_no_positions_loses_nothing() -> None:
    worst = worst_scenario(_empty(), [0.1], [0.05])
    assert (worst.loss, worst.vol_shock, worst.spot_shocks) == (0.0, 0.0, ())


def _empty() -> ScenarioBook:
    none = np.zeros(0)
    flags = np.zeros(0, dtype=bool)
    return ScenarioBook((), none, none, flags, none, none, none, flags)
