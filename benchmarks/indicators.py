"""Micro-benchmark of the indicator and strategy hot path (flows.trading.indicators and
strategies).

Synthetic prices: a geometric random walk from 100.00 with 1 bp per-tick volatility, rounded to
0.0001, fixed seed. Each case runs the whole series through a fresh state, in one call or in
consecutive chunks of a fixed size, as the flow does with micro-batches; the figure reported is
ticks per second of the median wall time over `--runs` runs (time.perf_counter, one process,
one thread). Signals are materialised (RawSignal objects), as the flow needs them.

    .venv/bin/python benchmarks/indicators.py              # table
    .venv/bin/python benchmarks/indicators.py --json       # one JSON object per case
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from flows.trading.indicators import (
    bollinger_step,
    ema_step,
    new_bollinger_state,
    new_ema_state,
    new_rsi_state,
    new_sma_state,
    rsi_step,
    sma_step,
)
from flows.trading.strategies import new_strategy_state, strategy_name, strategy_step
from schemas.config import MovingAverageCross

T0 = 1_795_000_000_000  # UTC ms


@dataclass(frozen=True, slots=True)
class Result:
    case: str
    chunk: int
    ticks: int
    median_seconds: float
    ticks_per_second: float
    signals: int


def synthetic_prices(ticks: int, seed: int = 20261125) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    prices: npt.NDArray[np.float64] = np.round(
        100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, ticks))), 4
    )
    return prices


def _median_time(body: Callable[[], int], runs: int) -> tuple[float, int]:
    timings, produced = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        produced = body()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), produced


def bench_strategy(
    prices: npt.NDArray[np.float64], chunk: int, runs: int, config: MovingAverageCross
) -> Result:
    ts = T0 + np.arange(prices.shape[0], dtype=np.int64) * 100

    def body() -> int:
        state = new_strategy_state(config)
        signals = 0
        for start in range(0, prices.shape[0], chunk):
            state, found = strategy_step(
                config, state, ts[start : start + chunk], prices[start : start + chunk]
            )
            signals += len(found)
        return signals

    seconds, signals = _median_time(body, runs)
    n = prices.shape[0]
    return Result(strategy_name(config), chunk, n, seconds, n / seconds, signals)


def bench_indicator(
    name: str,
    new_state: Callable[[], Any],
    step: Callable[[Any, npt.NDArray[np.float64]], Any],
    prices: npt.NDArray[np.float64],
    chunk: int,
    runs: int,
) -> Result:
    def body() -> int:
        state = new_state()
        for start in range(0, prices.shape[0], chunk):
            state, _ = step(state, prices[start : start + chunk])
        return 0

    seconds, _ = _median_time(body, runs)
    n = prices.shape[0]
    return Result(name, chunk, n, seconds, n / seconds, 0)


def run(ticks: int = 1_000_000, runs: int = 5, single_ticks: int = 20_000) -> list[Result]:
    """All cases; chunk size 1 runs over the first `single_ticks` prices only (it is slow)."""
    prices = synthetic_prices(ticks)
    config = MovingAverageCross(fast=10, slow=30)
    results = [bench_strategy(prices, chunk, runs, config) for chunk in (ticks, 1_000, 100)]
    results.append(bench_strategy(prices[:single_ticks], 1, runs, config))
    indicators: list[tuple[str, Callable[[], Any], Callable[[Any, Any], Any]]] = [
        ("sma(30)", lambda: new_sma_state(30), sma_step),
        ("ema(span=30)", lambda: new_ema_state(span=30), ema_step),
        ("rsi(14)", lambda: new_rsi_state(14), rsi_step),
        ("bollinger(20,2)", lambda: new_bollinger_state(20, 2.0), bollinger_step),
    ]
    for name, new_state, step in indicators:
        for chunk in (ticks, 1_000):
            results.append(bench_indicator(name, new_state, step, prices, chunk, runs))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object per case")
    args = parser.parse_args()
    results = run(args.ticks, args.runs)
    if args.json:
        for result in results:
            print(json.dumps(asdict(result)))
        return
    print(f"{'case':<18} {'chunk':>9} {'ticks':>9} {'median s':>9} {'ticks/s':>12} {'signals':>8}")
    for r in results:
        chunk = "all" if r.chunk == r.ticks else str(r.chunk)
        print(
            f"{r.case:<18} {chunk:>9} {r.ticks:>9} {r.median_seconds:>9.4f} "
            f"{r.ticks_per_second:>12,.0f} {r.signals:>8}"
        )


if __name__ == "__main__":
    main()
