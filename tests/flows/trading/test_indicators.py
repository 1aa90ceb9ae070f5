"""Indicators: cut invariance bit for bit, agreement with scalar references, warm-up, recovery."""

from __future__ import annotations

import copy
import itertools
import math
import pickle
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.indicators import (
    PRICE_SCALE,
    BollingerBands,
    IvRank,
    bollinger_step,
    ema_step,
    ewma_vol_step,
    iv_rank_step,
    iv_rank_update,
    new_bollinger_state,
    new_ema_state,
    new_ewma_vol_state,
    new_iv_rank_state,
    new_realised_vol_state,
    new_rsi_state,
    new_sma_state,
    price_units,
    realised_vol_step,
    rsi_step,
    sma_step,
)

FAST = settings(max_examples=60, deadline=None)
RTOL = 1e-9

# --- data ----------------------------------------------------------------------------------


@st.composite
def grid_prices(draw: st.DrawFn, max_size: int = 240) -> np.ndarray:
    """A random walk on the 0.0001 grid, 0.0001 to ~1000, steps up to ±0.2, ≥ 1 price.

    Half from a seeded generator (long, busy series), half built by hypothesis (ties, flat
    runs, one-unit steps, tiny series).
    """
    n = draw(st.integers(1, max_size))
    start = draw(st.integers(5_000, 10_000_000))
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        steps = rng.integers(-2_000, 2_001, n - 1) * (rng.random(n - 1) < 0.8)
    else:
        steps = np.asarray(
            draw(
                st.lists(st.integers(-2_000, 2_000), min_size=n - 1, max_size=n - 1)
                | st.lists(st.sampled_from([-1, 0, 0, 1]), min_size=n - 1, max_size=n - 1)
            ),
            dtype=np.int64,
        )
    units = np.maximum(start + np.cumsum(np.concatenate(([0], steps))), 1)
    prices: np.ndarray = units / PRICE_SCALE
    return prices


def random_walk(n: int, seed: int, sigma: float = 0.002, start: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(start * np.exp(np.cumsum(rng.normal(0.0, sigma, n))), 4)


def decimal(price: float) -> Fraction:
    """The exact decimal price the float stands for (prices are quoted to 0.0001)."""
    return Fraction(round(price * PRICE_SCALE), PRICE_SCALE)


# --- cut invariance ------------------------------------------------------------------------


def chunks(values: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """Consecutive chunks of `values`, sizes taken cyclically from `sizes`."""
    out, start, k = [], 0, 0
    while start < values.shape[0]:
        out.append(values[start : start + sizes[k % len(sizes)]])
        start += sizes[k % len(sizes)]
        k += 1
    return out


def as_arrays(output: Any) -> tuple[np.ndarray, ...]:
    return tuple(output) if isinstance(output, tuple) else (output,)


def run_chunked(
    new_state: Callable[[], Any], step: Callable[[Any, np.ndarray], Any], pieces: list[np.ndarray]
) -> tuple[Any, tuple[np.ndarray, ...]]:
    state = new_state()
    outputs = []
    for piece in pieces:
        state, out = step(state, piece)
        outputs.append(as_arrays(out))
    if not outputs:
        return state, ()
    return state, tuple(np.concatenate(parts) for parts in zip(*outputs, strict=True))


def assert_same_bits(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        assert x.shape == y.shape
        assert x.tobytes() == y.tobytes(), np.flatnonzero(x.view(np.int64) != y.view(np.int64))


INDICATORS: dict[str, tuple[Callable[[], Any], Callable[[Any, np.ndarray], Any]]] = {
    "sma": (lambda: new_sma_state(5), sma_step),
    "ema": (lambda: new_ema_state(span=4), ema_step),
    "rsi": (lambda: new_rsi_state(4), rsi_step),
    "bollinger": (lambda: new_bollinger_state(6, 1.5), bollinger_step),
    "ewma_vol": (lambda: new_ewma_vol_state(0.9, 252 * 390), ewma_vol_step),
    "realised_vol": (lambda: new_realised_vol_state(4, 252 * 390), realised_vol_step),
    "realised_vol_1": (lambda: new_realised_vol_state(1, 252), realised_vol_step),
    "iv_rank": (lambda: new_iv_rank_state(5), iv_rank_step),
}


@pytest.mark.parametrize("name", sorted(INDICATORS))
@FAST
@given(prices=grid_prices(), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_any_split_into_chunks_gives_identical_bits_and_state(
    name: str, prices: np.ndarray, sizes: list[int]
) -> None:
    new_state, step = INDICATORS[name]
    whole_state, whole = run_chunked(new_state, step, [prices])
    cut_state, cut = run_chunked(new_state, step, chunks(prices, sizes))
    assert_same_bits(whole, cut)
    assert pickle.dumps(whole_state) == pickle.dumps(cut_state)


@pytest.mark.parametrize("name", sorted(INDICATORS))
@pytest.mark.parametrize("size", [1, 7, 1000])
def test_batch_sizes_1_7_1000_agree_on_a_long_series(name: str, size: int) -> None:
    prices = random_walk(3_000, seed=7)
    new_state, step = INDICATORS[name]
    whole_state, whole = run_chunked(new_state, step, [prices])
    cut_state, cut = run_chunked(new_state, step, chunks(prices, [size]))
    assert_same_bits(whole, cut)
    assert pickle.dumps(whole_state) == pickle.dumps(cut_state)
    assert np.isfinite(whole[0]).sum() > 2_000  # the series is long enough to be warm


@pytest.mark.parametrize("window", [1, 2, 3, 16, 250])
def test_realised_vol_blocks_are_cut_invariant_across_many_block_boundaries(window: int) -> None:
    prices = random_walk(2_000, seed=window)
    new_state, step = (lambda: new_realised_vol_state(window, 252.0)), realised_vol_step
    whole_state, whole = run_chunked(new_state, step, [prices])
    for sizes in ([1], [window], [window + 1], [3, window * 2 + 1, 1, 97]):
        cut_state, cut = run_chunked(new_state, step, chunks(prices, sizes))
        assert_same_bits(whole, cut)
        assert pickle.dumps(whole_state) == pickle.dumps(cut_state)


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_state_restored_from_a_snapshot_continues_identically(name: str) -> None:
    prices = random_walk(500, seed=3)
    new_state, step = INDICATORS[name]
    _, whole = run_chunked(new_state, step, [prices])
    state, first = step(new_state(), prices[:230])
    for restored in (pickle.loads(pickle.dumps(state)), copy.deepcopy(state)):
        _, rest = step(restored, prices[230:])
        assert_same_bits(
            whole,
            tuple(
                np.concatenate(pair) for pair in zip(as_arrays(first), as_arrays(rest), strict=True)
            ),
        )


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_empty_chunk_changes_nothing(name: str) -> None:
    new_state, step = INDICATORS[name]
    state, _ = step(new_state(), random_walk(20, seed=1))
    before = pickle.dumps(state)
    state, out = step(state, np.zeros(0))
    assert all(part.shape == (0,) for part in as_arrays(out))
    assert pickle.dumps(state) == before


# --- scalar references ---------------------------------------------------------------------


def reference_sma(prices: np.ndarray, window: int) -> np.ndarray:
    out = np.full(prices.shape[0], np.nan)
    for i in range(window - 1, prices.shape[0]):
        out[i] = float(sum(decimal(p) for p in prices[i - window + 1 : i + 1]) / window)
    return out


def reference_ema(prices: np.ndarray, alpha: float) -> np.ndarray:
    out = np.full(prices.shape[0], np.nan)
    ema = math.nan
    for i, price in enumerate(prices):
        ema = price if i == 0 else alpha * price + (1 - alpha) * ema
        out[i] = ema
    return out


def positive(change: Fraction) -> Fraction:
    return change if change > 0 else Fraction(0)


def reference_rsi(prices: np.ndarray, period: int) -> np.ndarray:
    """Wilder (1978): seed with the mean of `period` changes, then (avg·(n−1) + x) / n."""
    out = np.full(prices.shape[0], np.nan)
    changes = [decimal(b) - decimal(a) for a, b in itertools.pairwise(prices)]
    avg_gain = avg_loss = math.nan
    for k in range(period - 1, len(changes)):
        if k == period - 1:
            avg_gain = float(sum(positive(c) for c in changes[:period]) / period)
            avg_loss = float(sum(positive(-c) for c in changes[:period]) / period)
        else:
            avg_gain = (avg_gain * (period - 1) + float(positive(changes[k]))) / period
            avg_loss = (avg_loss * (period - 1) + float(positive(-changes[k]))) / period
        out[k + 1] = 100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return out


def reference_bollinger(prices: np.ndarray, period: int, width: float) -> BollingerBands:
    middle, std = np.full(prices.shape[0], np.nan), np.full(prices.shape[0], np.nan)
    for i in range(period - 1, prices.shape[0]):
        window = [decimal(p) for p in prices[i - period + 1 : i + 1]]
        mean = sum(window) / period
        middle[i] = float(mean)
        std[i] = math.sqrt(sum((x - mean) ** 2 for x in window) / period)
    return BollingerBands(middle, middle + width * std, middle - width * std, std)


def log_returns(prices: np.ndarray) -> list[float]:
    return [math.log(b / a) for a, b in itertools.pairwise(prices)]


def reference_ewma_vol(prices: np.ndarray, decay: float, ticks_per_year: float) -> np.ndarray:
    out = np.full(prices.shape[0], np.nan)
    variance = math.nan
    for k, r in enumerate(log_returns(prices)):
        variance = r * r if k == 0 else decay * variance + (1 - decay) * r * r
        out[k + 1] = math.sqrt(variance * ticks_per_year)
    return out


def reference_realised_vol(prices: np.ndarray, window: int, ticks_per_year: float) -> np.ndarray:
    out = np.full(prices.shape[0], np.nan)
    returns = log_returns(prices)
    for k in range(window - 1, len(returns)):
        mean_square = math.fsum(r * r for r in returns[k - window + 1 : k + 1]) / window
        out[k + 1] = math.sqrt(mean_square * ticks_per_year)
    return out


def reference_iv_rank(values: np.ndarray, lookback: int) -> IvRank:
    rank, percentile = np.full(values.shape[0], np.nan), np.full(values.shape[0], np.nan)
    seen: list[tuple[int, float]] = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
    for j in range(lookback - 1, len(seen)):
        i, current = seen[j]
        window = [v for _, v in seen[j - lookback + 1 : j + 1]]
        low, high = min(window), max(window)
        rank[i] = 50.0 if high == low else 100 * (current - low) / (high - low)
        percentile[i] = 100 * sum(v < current for v in window) / (lookback - 1)
    return IvRank(rank, percentile)


def assert_close(actual: np.ndarray, expected: np.ndarray, atol: float = 0.0) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol)


@FAST
@given(prices=grid_prices(), window=st.integers(1, 12))
def test_sma_matches_exact_decimal_mean(prices: np.ndarray, window: int) -> None:
    _, sma = sma_step(new_sma_state(window), prices)
    assert_close(sma, reference_sma(prices, window))


@FAST
@given(prices=grid_prices(), span=st.floats(1.0, 50.0))
def test_ema_matches_the_recursion_seeded_with_the_first_price(
    prices: np.ndarray, span: float
) -> None:
    state = new_ema_state(span=span)
    _, ema = ema_step(state, prices)
    assert_close(ema, reference_ema(prices, 2.0 / (span + 1.0)))
    if prices.shape[0]:
        assert ema[0] == prices[0]


@FAST
@given(prices=grid_prices(), period=st.integers(1, 10))
def test_rsi_matches_wilders_textbook_recursion(prices: np.ndarray, period: int) -> None:
    _, rsi = rsi_step(new_rsi_state(period), prices)
    expected = reference_rsi(prices, period)
    assert_close(rsi, expected, atol=1e-9)
    assert np.all((rsi[period:] >= 0) & (rsi[period:] <= 100))


@FAST
@given(prices=grid_prices(), period=st.integers(1, 12), width=st.floats(0.0, 4.0))
def test_bollinger_matches_population_std_of_each_window(
    prices: np.ndarray, period: int, width: float
) -> None:
    _, bands = bollinger_step(new_bollinger_state(period, width), prices)
    expected = reference_bollinger(prices, period, width)
    for actual, wanted in zip(bands, expected, strict=True):
        # the bands subtract width × std from a price, so compare at the price's scale
        assert_close(actual, wanted, atol=1e-9 * float(np.max(prices, initial=1.0)))
    assert_close(bands.std, expected.std)


def test_bollinger_stays_exact_when_squared_units_overflow_int64() -> None:
    # 400,000.0000 is 4e9 units; its square, 1.6e19, wraps int64. The deviations stay small.
    prices = np.round(400_000 + np.cumsum(np.random.default_rng(5).normal(0, 3, 400)), 4)
    state, bands = bollinger_step(new_bollinger_state(300, 2.0), prices)
    assert state.total_sq != int(np.sum(price_units(prices[-300:]).astype(object) ** 2))
    assert_close(bands.std, reference_bollinger(prices, 300, 2.0).std)


def test_bollinger_of_a_constant_window_has_zero_width() -> None:
    _, bands = bollinger_step(new_bollinger_state(3, 2.0), np.array([10.0, 10.0, 10.0, 10.5]))
    assert bands.std[2] == 0.0
    assert bands.upper[2] == bands.middle[2] == bands.lower[2] == 10.0
    assert bands.middle[3] == pytest.approx(10.5 / 3 + 20 / 3)


@FAST
@given(prices=grid_prices(), decay=st.floats(0.5, 0.99))
def test_ewma_vol_matches_the_riskmetrics_recursion(prices: np.ndarray, decay: float) -> None:
    _, vol = ewma_vol_step(new_ewma_vol_state(decay, 252.0), prices)
    assert_close(vol, reference_ewma_vol(prices, decay, 252.0), atol=1e-12)


@FAST
@given(prices=grid_prices(), window=st.integers(1, 12))
def test_realised_vol_matches_rms_of_the_last_window_log_returns(
    prices: np.ndarray, window: int
) -> None:
    _, vol = realised_vol_step(new_realised_vol_state(window, 252.0 * 390), prices)
    assert_close(vol, reference_realised_vol(prices, window, 252.0 * 390), atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.sampled_from([0.15, 0.2, 0.25, math.nan]) | st.floats(0.05, 1.5), max_size=80
    ),
    lookback=st.integers(2, 10),
)
def test_iv_rank_and_percentile_match_a_scan_of_the_window(
    values: list[float], lookback: int
) -> None:
    series = np.asarray(values, dtype=np.float64)
    _, result = iv_rank_step(new_iv_rank_state(lookback), series)
    expected = reference_iv_rank(series, lookback)
    assert_close(result.rank, expected.rank)
    assert_close(result.percentile, expected.percentile)


def test_long_series_agrees_with_references_past_many_windows() -> None:
    prices = random_walk(2_500, seed=11)
    _, sma = sma_step(new_sma_state(30), prices)
    assert_close(sma, reference_sma(prices, 30))
    _, rsi = rsi_step(new_rsi_state(14), prices)
    assert_close(rsi, reference_rsi(prices, 14), atol=1e-9)
    _, vol = realised_vol_step(new_realised_vol_state(390, 252 * 390), prices)
    assert_close(vol, reference_realised_vol(prices, 390, 252 * 390))
    _, ewma = ewma_vol_step(new_ewma_vol_state(0.94, 252 * 390), prices)
    assert_close(ewma, reference_ewma_vol(prices, 0.94, 252 * 390))


# --- worked examples and warm-up -----------------------------------------------------------


def test_sma_worked_example() -> None:
    state, first = sma_step(new_sma_state(2), np.array([1.0, 2.0]))
    state, second = sma_step(state, np.array([4.0, 8.0]))
    np.testing.assert_array_equal(np.concatenate((first, second)), [np.nan, 1.5, 3.0, 6.0])


def test_off_grid_prices_are_quantised_to_a_ten_thousandth() -> None:
    # 1.00004 → 1.0000 and 1.00006 → 1.0001: the mean of 10,000 and 10,001 units
    _, sma = sma_step(new_sma_state(2), np.array([1.00004, 1.00006]))
    assert sma[1] == 20_001 / (2 * PRICE_SCALE)


def test_rsi_worked_example() -> None:
    # Changes +1, +1, −1: seed (period 2) gain 1, loss 0 → RSI 100; then gain ½, loss ½ → 50.
    _, rsi = rsi_step(new_rsi_state(2), np.array([10.0, 11.0, 12.0, 11.0]))
    np.testing.assert_array_equal(rsi, [np.nan, np.nan, 100.0, 50.0])


def test_rsi_of_flat_prices_is_100_by_the_zero_loss_rule() -> None:
    _, rsi = rsi_step(new_rsi_state(3), np.full(6, 42.0))
    np.testing.assert_array_equal(rsi, [np.nan] * 3 + [100.0] * 3)


def test_iv_rank_worked_example() -> None:
    state = new_iv_rank_state(3)
    assert all(math.isnan(x) for x in iv_rank_update(state, 0.20))
    assert all(math.isnan(x) for x in iv_rank_update(state, 0.30))
    rank, percentile = iv_rank_update(state, 0.25)  # midway; one of the other two below
    assert rank == pytest.approx(50.0)
    assert percentile == 50.0
    assert iv_rank_update(state, 0.40) == (100.0, 100.0)  # window 0.30, 0.25, 0.40
    assert iv_rank_update(state, 0.25) == (0.0, 0.0)  # window 0.25, 0.40, 0.25
    assert all(math.isnan(x) for x in iv_rank_update(state, math.nan))
    assert list(state.window) == [0.25, 0.40, 0.25]


@pytest.mark.parametrize(
    ("name", "cold"),
    [
        ("sma", 4),
        ("ema", 0),
        ("rsi", 4),
        ("bollinger", 5),
        ("ewma_vol", 1),
        ("realised_vol", 4),
        ("realised_vol_1", 1),
        ("iv_rank", 4),
    ],
)
def test_values_are_nan_exactly_until_warm(name: str, cold: int) -> None:
    new_state, step = INDICATORS[name]
    _, out = run_chunked(new_state, step, chunks(random_walk(30, seed=2), [1]))
    for values in out:
        assert np.isnan(values[:cold]).all()
        assert np.isfinite(values[cold:]).all()


@pytest.mark.parametrize(
    "make",
    [
        lambda: new_sma_state(0),
        lambda: new_ema_state(),
        lambda: new_ema_state(span=3, alpha=0.5),
        lambda: new_ema_state(alpha=1.5),
        lambda: new_rsi_state(0),
        lambda: new_ewma_vol_state(1.0, 252.0),
        lambda: new_realised_vol_state(0, 252.0),
        lambda: new_iv_rank_state(1),
    ],
)
def test_invalid_parameters_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"must|exactly"):
        make()


def test_a_chunk_must_be_one_dimensional() -> None:
    with pytest.raises(ValueError, match="1-D"):
        sma_step(new_sma_state(2), np.ones((2, 2)))
