"""Strategies: hand-checked signals, agreement with a tick-by-tick machine, cut invariance."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.indicators import (
    PRICE_SCALE,
    bollinger_step,
    new_bollinger_state,
    new_realised_vol_state,
    new_rsi_state,
    realised_vol_step,
    rsi_step,
)
from flows.trading.strategies import (
    RawSignal,
    StrategyConfig,
    StrategyState,
    new_strategy_state,
    strategy_name,
    strategy_step,
)
from schemas.common import Direction
from schemas.config import BollingerBreakout, MovingAverageCross, RsiReversion, VolatilityPremium

LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT
T0 = 1_795_000_000_000  # event time of the first tick, UTC ms


def times(n: int, start: int = 0) -> np.ndarray:
    return T0 + 1_000 * np.arange(start, start + n, dtype=np.int64)


def run(
    config: StrategyConfig,
    prices: np.ndarray,
    implied: np.ndarray | None = None,
    sizes: Sequence[int] | None = None,
) -> tuple[StrategyState, list[RawSignal]]:
    """Feed the series in chunks (sizes used cyclically; one chunk if None); indices global."""
    state = new_strategy_state(config)
    signals: list[RawSignal] = []
    start, k = 0, 0
    while start < prices.shape[0]:
        size = prices.shape[0] if sizes is None else sizes[k % len(sizes)]
        stop = min(start + size, prices.shape[0])
        chunk_iv = None if implied is None else implied[start:stop]
        state, found = strategy_step(
            config, state, times(stop - start, start), prices[start:stop], chunk_iv
        )
        assert [s.index for s in found] == sorted(s.index for s in found)
        assert all(0 <= s.index < stop - start for s in found)
        signals += [
            RawSignal(s.index + start, s.direction, s.strength, s.reason, s.indicators)
            for s in found
        ]
        start, k = stop, k + 1
    return state, signals


def moves(signals: list[RawSignal]) -> list[tuple[int, Direction]]:
    return [(s.index, s.direction) for s in signals]


def random_walk(n: int, seed: int, sigma: float = 0.002) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, n))), 4)


# --- worked by hand -------------------------------------------------------------------------

#              0   1   2   3   4   5   6   7   8   9  10  11
HAND_PRICES = [10, 11, 12, 11, 10, 9, 10, 11, 12, 13, 12, 11]
# SMA(2):        10.5 11.5 11.5 10.5 9.5 9.5  10.5 11.5 12.5 12.5 11.5
# SMA(3):             11   11.3 11   10  9.67 10   11   12   12.3 12
# fast vs slow:       >    >    <    <   <    >    >    >    >    <
# tick 2 only initialises; crosses below at 4 and 11, above at 7.


def test_ma_cross_2_3_long_only_worked_by_hand() -> None:
    _, signals = run(MovingAverageCross(fast=2, slow=3), np.array(HAND_PRICES, dtype=float))
    assert moves(signals) == [(7, LONG), (11, FLAT)]  # the cross below at 4 finds us flat
    assert signals[0].reason == "fast SMA(2) 10.5000 crossed above slow SMA(3) 10.0000"
    assert signals[1].reason == "fast SMA(2) 11.5000 crossed below slow SMA(3) 12.0000"
    assert signals[0].indicators == {"fast_sma": 10.5, "slow_sma": 10.0}
    assert [s.strength for s in signals] == [1.0, 1.0]  # gaps of 5% and 4.2% exceed 0.5%


def test_ma_cross_2_3_with_shorts_worked_by_hand() -> None:
    config = MovingAverageCross(fast=2, slow=3, allow_short=True)
    _, signals = run(config, np.array(HAND_PRICES, dtype=float))
    assert moves(signals) == [(4, SHORT), (7, LONG), (11, SHORT)]


def test_ma_cross_strength_is_the_sma_gap_over_half_a_percent() -> None:
    # Tick 2 initialises with fast == slow; at tick 3 fast 100.15 > slow 100.10 (from ≤).
    _, signals = run(MovingAverageCross(fast=2, slow=3), np.array([100.0, 100.0, 100.0, 100.3]))
    assert moves(signals) == [(3, LONG)]
    assert signals[0].strength == pytest.approx((100.15 / 100.1 - 1) / 0.005)


def test_ma_cross_first_warm_tick_only_initialises() -> None:
    _, signals = run(MovingAverageCross(fast=2, slow=3), np.arange(1.0, 20.0))
    assert signals == []  # fast > slow from the first warm tick, but nothing crossed


def test_rsi_reversion_worked_by_hand() -> None:
    # Changes −1, −1, +1, +1, +1 with period 2:
    # tick 2: gain 0, loss 1 → RSI 0; tick 3: ½, ½ → 50; tick 4: ¾, ¼ → 75; tick 5: ⅞, ⅛ → 87.5
    prices = np.array([10.0, 9.0, 8.0, 9.0, 10.0, 11.0])
    _, signals = run(RsiReversion(period=2), prices)
    assert moves(signals) == [(2, LONG), (4, FLAT)]
    assert [s.strength for s in signals] == [1.0, 0.5]  # (30 − 0)/30, (75 − 50)/50
    assert signals[0].reason == "RSI(2) 0.00 below oversold 30"
    assert signals[1].reason == "RSI(2) 75.00 back above exit level 50"
    _, signals = run(RsiReversion(period=2, allow_short=True), prices)
    assert moves(signals) == [(2, LONG), (4, FLAT), (5, SHORT)]
    assert signals[2].strength == pytest.approx((87.5 - 70) / 30)


def test_bollinger_breakout_worked_by_hand() -> None:
    # period 2, width 0.5: tick 2 window {10, 11}: middle 10.5, std 0.5, upper 10.75 < 11;
    # tick 3 window {11, 10}: middle 10.5 > 10.
    _, signals = run(BollingerBreakout(period=2, width=0.5), np.array([10.0, 10.0, 11.0, 10.0]))
    assert moves(signals) == [(2, LONG), (3, FLAT)]
    assert [s.strength for s in signals] == [0.5, 1.0]  # 0.25 and 0.5 past, in stds of 0.5
    assert signals[0].indicators == {
        "bb_middle": 10.5,
        "bb_upper": 10.75,
        "bb_lower": 10.25,
        "bb_std": 0.5,
    }


def test_vol_premium_worked_by_hand() -> None:
    # Flat prices: realised vol 0 once two returns exist (tick 2), so the spread is the IV.
    config = VolatilityPremium(realised_window=2, threshold=0.04, exit_threshold=0.01)
    implied = np.array([0.5, 0.5, 0.05, 0.03, 0.005, math.nan])
    _, signals = run(config, np.full(6, 100.0), implied)
    assert moves(signals) == [(2, SHORT), (4, FLAT)]
    assert [s.strength for s in signals] == pytest.approx([0.25, 0.125])
    assert signals[0].indicators == {"implied_vol": 0.05, "realised_vol": 0.0, "vol_spread": 0.05}


def test_vol_premium_needs_implied_vol_of_the_same_shape() -> None:
    config = VolatilityPremium()
    state = new_strategy_state(config)
    with pytest.raises(ValueError, match="implied_vol"):
        strategy_step(config, state, times(3), np.ones(3))
    with pytest.raises(ValueError, match="implied_vol"):
        strategy_step(config, state, times(3), np.ones(3), np.ones(2))


def test_mismatched_inputs_are_refused() -> None:
    config = MovingAverageCross()
    with pytest.raises(ValueError, match="shapes"):
        strategy_step(config, new_strategy_state(config), times(2), np.ones(3))
    with pytest.raises(TypeError, match="ma_cross"):
        strategy_step(config, new_strategy_state(RsiReversion()), times(3), np.ones(3))


def test_raw_signal_is_immutable() -> None:
    signal = RawSignal(0, LONG, 0.5, "reason", {})
    with pytest.raises(FrozenInstanceError):
        signal.strength = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("config", "name"),
    [
        (MovingAverageCross(), "ma_cross(10,30)"),
        (MovingAverageCross(fast=5, slow=20, allow_short=True), "ma_cross(5,20,short)"),
        (RsiReversion(), "rsi_reversion(14)"),
        (BollingerBreakout(width=2.5, allow_short=True), "bollinger_breakout(20,2.5,short)"),
        (VolatilityPremium(), "vol_premium(390,0.04)"),
    ],
)
def test_strategy_names(config: StrategyConfig, name: str) -> None:
    assert strategy_name(config) == name


# --- random configurations and series -------------------------------------------------------


@st.composite
def configs(draw: st.DrawFn) -> StrategyConfig:
    kind = draw(st.sampled_from(["ma_cross", "rsi_reversion", "bollinger_breakout", "vol"]))
    short = draw(st.booleans())
    if kind == "ma_cross":
        fast = draw(st.integers(1, 6))
        return MovingAverageCross(
            fast=fast, slow=draw(st.integers(fast + 1, 15)), allow_short=short
        )
    if kind == "rsi_reversion":
        low, mid, high = sorted(
            draw(st.lists(st.integers(5, 95), min_size=3, max_size=3, unique=True))
        )
        return RsiReversion(
            period=draw(st.integers(2, 8)),
            oversold=float(low),
            exit_level=float(mid),
            overbought=float(high),
            allow_short=short,
        )
    if kind == "bollinger_breakout":
        return BollingerBreakout(
            period=draw(st.integers(2, 10)), width=draw(st.floats(0.1, 3.0)), allow_short=short
        )
    threshold = draw(st.floats(0.01, 0.5))
    return VolatilityPremium(
        realised_window=draw(st.integers(2, 10)),
        threshold=threshold,
        exit_threshold=draw(st.floats(0.0, threshold, exclude_max=True)),
        ticks_per_year=draw(st.sampled_from([252.0, 252.0 * 390])),
    )


@st.composite
def series(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Prices on the 0.0001 grid (a random walk) and implied vols (a few NaN).

    Half the examples come from a seeded generator, so that long, busy series with many
    signals are common; the other half are built by hypothesis, which finds the ties, flat runs
    and one-tick series.
    """
    n = draw(st.integers(1, 300))
    start = draw(st.integers(100_000, 5_000_000))
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        steps = rng.integers(-3_000, 3_001, n) * (rng.random(n) < 0.8)  # some flat ticks
        implied = rng.uniform(0.0, 1.5, n)
        implied[rng.random(n) < 0.05] = math.nan
    else:
        steps = np.asarray(draw(st.lists(st.integers(-3_000, 3_000), min_size=n, max_size=n)))
        implied = np.asarray(
            draw(st.lists(st.floats(0.0, 1.5) | st.just(math.nan), min_size=n, max_size=n))
        )
    units = np.maximum(start + np.cumsum(steps), 1)
    return units / PRICE_SCALE, implied.astype(np.float64)


def reference_signals(
    config: StrategyConfig, prices: np.ndarray, implied: np.ndarray
) -> list[tuple[int, Direction]]:
    """The documented rules, one tick at a time, on the same indicator values.

    Indicator accuracy is tested in test_indicators; this checks the position machine.
    """
    if isinstance(config, MovingAverageCross):
        return reference_ma_cross(config, prices)
    rule: Callable[[Direction, int], Direction]
    if isinstance(config, RsiReversion):
        _, rsi = rsi_step(new_rsi_state(config.period), prices)

        def rule(position: Direction, i: int) -> Direction:
            if position is FLAT and rsi[i] < config.oversold:
                return LONG
            if position is FLAT and config.allow_short and rsi[i] > config.overbought:
                return SHORT
            if position is LONG and rsi[i] > config.exit_level:
                return FLAT
            if position is SHORT and rsi[i] < config.exit_level:
                return FLAT
            return position

    elif isinstance(config, BollingerBreakout):
        _, bands = bollinger_step(new_bollinger_state(config.period, config.width), prices)

        def rule(position: Direction, i: int) -> Direction:
            if position is FLAT and prices[i] > bands.upper[i]:
                return LONG
            if position is FLAT and config.allow_short and prices[i] < bands.lower[i]:
                return SHORT
            if position is LONG and prices[i] < bands.middle[i]:
                return FLAT
            if position is SHORT and prices[i] > bands.middle[i]:
                return FLAT
            return position

    else:
        state = new_realised_vol_state(config.realised_window, config.ticks_per_year)
        _, realised = realised_vol_step(state, prices)
        threshold, exit_threshold = config.threshold, config.exit_threshold

        def rule(position: Direction, i: int) -> Direction:
            if position is FLAT and implied[i] - realised[i] > threshold:
                return SHORT
            if position is SHORT and implied[i] - realised[i] < exit_threshold:
                return FLAT
            return position

    position, out = FLAT, []
    for i in range(prices.shape[0]):
        wanted = rule(position, i)
        if wanted is not position:
            out.append((i, wanted))
            position = wanted
    return out


def reference_ma_cross(
    config: MovingAverageCross, prices: np.ndarray
) -> list[tuple[int, Direction]]:
    """Crosses of the two SMAs compared exactly, as Python integers of 0.0001 units."""
    units = [round(p * PRICE_SCALE) for p in prices]
    position, previous, out = FLAT, None, []
    for i in range(config.slow - 1, prices.shape[0]):
        fast = sum(units[i - config.fast + 1 : i + 1]) * config.slow
        slow = sum(units[i - config.slow + 1 : i + 1]) * config.fast
        relation = (fast > slow) - (fast < slow)
        wanted = position
        if previous is not None and previous <= 0 < relation:
            wanted = LONG
        elif previous is not None and previous >= 0 > relation:
            wanted = SHORT if config.allow_short else FLAT
        previous = relation
        if wanted is not position:
            out.append((i, wanted))
            position = wanted
    return out


def assert_well_formed(signals: list[RawSignal]) -> None:
    position = FLAT
    for signal in signals:
        assert signal.direction != position  # a signal is a change of wanted position
        assert 0.0 <= signal.strength <= 1.0
        assert signal.reason
        assert signal.indicators
        assert all(math.isfinite(v) for v in signal.indicators.values())
        assert all(type(v) is float for v in signal.indicators.values())
        position = signal.direction


def fingerprint(state: StrategyState, signals: list[RawSignal]) -> bytes:
    """Every bit of the signals and the final state (floats pickle as their IEEE bytes)."""
    rows = [(s.index, s.direction, s.strength, s.reason, s.indicators) for s in signals]
    return pickle.dumps((state, rows))


@settings(max_examples=100, deadline=None)
@given(config=configs(), data=series())
def test_signals_follow_the_documented_rules_tick_by_tick(
    config: StrategyConfig, data: tuple[np.ndarray, np.ndarray]
) -> None:
    prices, implied = data
    _, signals = run(config, prices, implied)
    assert moves(signals) == reference_signals(config, prices, implied)
    assert_well_formed(signals)


@settings(max_examples=100, deadline=None)
@given(
    config=configs(),
    data=series(),
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=6),
)
def test_any_split_into_chunks_gives_identical_signals_and_state(
    config: StrategyConfig, data: tuple[np.ndarray, np.ndarray], sizes: list[int]
) -> None:
    prices, implied = data
    whole = fingerprint(*run(config, prices, implied))
    assert fingerprint(*run(config, prices, implied, sizes)) == whole


LONG_RUN_CONFIGS = [
    MovingAverageCross(fast=10, slow=30, allow_short=True),
    MovingAverageCross(fast=3, slow=7),
    RsiReversion(allow_short=True),
    RsiReversion(period=5),
    BollingerBreakout(allow_short=True),
    BollingerBreakout(period=10, width=1.0),
    VolatilityPremium(realised_window=50, threshold=0.05, exit_threshold=0.01),
]


@pytest.mark.parametrize("config", LONG_RUN_CONFIGS, ids=strategy_name)
def test_batch_sizes_1_7_1000_give_identical_signals(config: StrategyConfig) -> None:
    prices = random_walk(3_000, seed=17)
    # implied vol wandering around the realised vol of this walk (~0.63 a year)
    implied = 0.63 + 0.1 * np.sin(np.arange(3_000) / 150.0)
    implied[::97] = math.nan
    state, signals = run(config, prices, implied)
    assert len(signals) >= 10
    assert_well_formed(signals)
    assert moves(signals) == reference_signals(config, prices, implied)
    for size in (1, 7, 1000):
        assert fingerprint(*run(config, prices, implied, [size])) == fingerprint(state, signals)


@pytest.mark.parametrize("config", LONG_RUN_CONFIGS, ids=strategy_name)
def test_state_restored_from_a_snapshot_continues_identically(config: StrategyConfig) -> None:
    prices = random_walk(1_000, seed=5)
    implied = np.full(1_000, 0.7)
    _, whole = run(config, prices, implied)
    state, first = strategy_step(
        config, new_strategy_state(config), times(600), prices[:600], implied[:600]
    )
    restored = pickle.loads(pickle.dumps(state))
    _, rest = strategy_step(config, restored, times(400, 600), prices[600:], implied[600:])
    resumed = first + [
        RawSignal(s.index + 600, s.direction, s.strength, s.reason, s.indicators) for s in rest
    ]
    assert resumed == whole


@settings(max_examples=200, deadline=None)
@given(config=configs())
def test_names_fit_the_signals_strategy_column(config: StrategyConfig) -> None:
    assert 0 < len(strategy_name(config)) <= 40


def test_extreme_parameters_still_give_short_names() -> None:
    assert len(strategy_name(MovingAverageCross(fast=9_999, slow=10_000, allow_short=True))) <= 40
    assert (
        len(strategy_name(BollingerBreakout(period=10_000, width=9.87654, allow_short=True))) <= 40
    )
    assert len(strategy_name(VolatilityPremium(realised_window=100_000, threshold=4.99999))) <= 40


# A tie, then a move away from it, then real crosses, worked by hand (SMA2 / SMA3 per tick):
#   tick 2: 10 / 10 (first warm tick: the relation, a tie, is only recorded)
#   tick 3: 10 / 10 tie         tick 4: 10.5 / 10.333 above: leaves the tie
#   tick 7: 10.5 / 11 below     tick 10: 10.5 / 10 above
# Touch counts leaving the tie as a cross above; strict (backtesting.py's crossover) does not,
# so its cross below at tick 7 changes nothing (already flat) and it first buys at tick 10.
TIE_THEN_CROSSES = np.array([10, 10, 10, 10, 11, 12, 11, 10, 9, 10, 11, 12], dtype=float)


@pytest.mark.parametrize(
    ("cross", "expected"),
    [("touch", [(4, LONG), (7, FLAT), (10, LONG)]), ("strict", [(10, LONG)])],
)
def test_ma_cross_touch_and_strict_on_a_hand_worked_series(
    cross: str, expected: list[tuple[int, Direction]]
) -> None:
    config = MovingAverageCross(fast=2, slow=3, cross=cross)  # type: ignore[arg-type]
    for sizes in (None, [1], [3, 2]):
        _, found = run(config, TIE_THEN_CROSSES, sizes=sizes)
        assert [(s.index, s.direction) for s in found] == expected
