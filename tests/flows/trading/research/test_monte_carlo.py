"""Monte Carlo of trades: seeded, and right on cases small enough to enumerate by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.research.monte_carlo import monte_carlo, path_statistics

DAY = 86_400_000
T0 = 1_795_789_800_000


def test_the_same_seed_gives_the_same_figures_and_another_seed_others() -> None:
    rng = np.random.default_rng(1)
    pnls = rng.normal(5, 50, 40).tolist()
    exits = [T0 + (i + 1) * DAY for i in range(40)]
    first = monte_carlo(pnls, exits, 10_000.0, T0, 500, seed=42)
    assert monte_carlo(pnls, exits, 10_000.0, T0, 500, seed=42) == first
    assert monte_carlo(pnls, exits, 10_000.0, T0, 500, seed=43) != first


def test_two_trades_give_only_the_paths_one_can_enumerate() -> None:
    # +10 and -10 from 100: bootstrap finals are 80, 100 or 120; a reshuffle always ends at
    # 100, with a drawdown of 10/110 (up first) or 10/100 (down first)
    found = monte_carlo([10.0, -10.0], [T0 + DAY, T0 + 2 * DAY], 100.0, T0, 2000, seed=3)
    boot = found["bootstrap"]["final_equity"]
    assert set(boot.values()) <= {80.0, 100.0, 120.0}
    assert boot["p5"] == 80.0
    assert boot["p95"] == 120.0
    reshuffle = found["reshuffle"]
    assert set(reshuffle["final_equity"].values()) == {100.0}
    assert reshuffle["max_drawdown"]["p5"] == pytest.approx(10 / 110)
    assert reshuffle["max_drawdown"]["p95"] == pytest.approx(0.1)
    # down first: under water from the start to the second exit, 2 days; up first: from the
    # peak at the first exit to the end, 1 day
    assert reshuffle["longest_drawdown_days"]["p5"] == 1.0
    assert reshuffle["longest_drawdown_days"]["p95"] == 2.0


def test_equal_trades_leave_nothing_to_chance() -> None:
    found = monte_carlo([5.0] * 4, [T0 + i * DAY for i in range(1, 5)], 100.0, T0, 50, seed=0)
    for method in ("bootstrap", "reshuffle"):
        assert set(found[method]["final_equity"].values()) == {120.0}
        assert set(found[method]["max_drawdown"].values()) == {0.0}
        assert set(found[method]["longest_drawdown_days"].values()) == {0.0}


def test_a_run_without_trades_stays_at_its_starting_equity() -> None:
    found = monte_carlo([], [], 100.0, T0, 10, seed=0)
    assert found["trades"] == 0
    assert found["bootstrap"]["final_equity"] == {"p5": 100.0, "p50": 100.0, "p95": 100.0}


def test_path_statistics_by_hand() -> None:
    paths = np.array([[100.0, 120.0, 90.0, 110.0, 130.0]])
    times = np.array([0, 1, 2, 3, 4]) * DAY
    final, drawdown, longest = path_statistics(paths, times)
    assert final[0] == 130.0
    assert drawdown[0] == pytest.approx(0.25)  # 120 -> 90
    assert longest[0] == 3.0  # from the peak at day 1 to the new high at day 4


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=30), st.integers(0, 9))
def test_a_reshuffle_always_ends_where_the_run_ended(pnls: list[float], seed: int) -> None:
    exits = [T0 + (i + 1) * 1000 for i in range(len(pnls))]
    found = monte_carlo(pnls, exits, 10_000.0, T0, 20, seed)
    for value in found["reshuffle"]["final_equity"].values():
        assert value == pytest.approx(10_000.0 + sum(pnls), abs=1e-6)
    assert 0.0 <= found["bootstrap"]["max_drawdown"]["p95"] <= 1.0
