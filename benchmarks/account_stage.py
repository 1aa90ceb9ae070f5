"""Benchmark: the decision-and-fill path alone, in the account stage, without Bytewax or sinks.

Run from the repository root:

    .venv/bin/python benchmarks/account_stage.py                 # Markdown section
    .venv/bin/python benchmarks/account_stage.py --bars 200000 --runs 5

The series and strategy of backtest_peers.py (one-second bars of a seeded random walk, SMA
10/30 stop-and-reverse at 10 shares, strict cross, no costs), fed to the account stage
(`flows.accounts.timeline.advance`) in segments of `--chunk` ticks, as the flow's merge hands
them over. Per decision-and-fill leg: (CPU seconds of this strategy - CPU seconds of the same run
with a strategy that almost never signals) / fill legs, medians of `--runs`, the two variants
alternating. CPU time of this process (`time.process_time`), not wall time: on a shared machine
it is the steadier figure. backtest_peers.py's figure per leg is the whole run's: it adds the
rows' conversion to columns, the ClickHouse writes and reading the results back.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Iterator

import numpy as np
from backtest_peers import SLOW, START_MS, sar_config
from common import load_average, machine_line

from flows.accounts.state import AccountParams, new_account
from flows.accounts.timeline import advance
from flows.trading.ticks import Segment
from schemas.config import AlgorithmConfig

COMMAND = ".venv/bin/python benchmarks/account_stage.py"


def series(bars: int) -> tuple[np.ndarray, np.ndarray]:
    """backtest_peers.write_series's closes and times, without the file."""
    rng = np.random.default_rng(20261202)
    close = np.maximum(np.round(100 + np.cumsum(rng.normal(0, 0.05, bars)), 4), 1.0)
    return START_MS + 1000 * np.arange(bars, dtype=np.int64), close


def segments(
    ts: np.ndarray,
    quotes: tuple[np.ndarray, np.ndarray, np.ndarray],
    symbol: str,
    chunk: int,
    volume: int = 1,
) -> Iterator[tuple[Segment, int]]:
    """The bars of one symbol as the flow's merge hands them to the account stage: segments of
    `chunk` ticks, each with the horizon before which no tick is still to come. `quotes`: the
    bid, ask and last columns."""
    bid, ask, last = quotes
    n = len(ts)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        size = stop - start
        segment = Segment(
            ts=ts[start:stop],
            codes=np.zeros(size, dtype=np.int32),
            symbols=(symbol,),
            bid=bid[start:stop],
            ask=ask[start:stop],
            last=last[start:stop],
            volume=np.full(size, volume, dtype=np.int64),
            partition=np.zeros(size, dtype=np.int32),
            offsets=np.arange(start, stop, dtype=np.int64),
        )
        yield segment, int(ts[stop]) if stop < n else int(ts[-1]) + 1


def run_stage(ts: np.ndarray, close: np.ndarray, config: AlgorithmConfig, chunk: int) -> int:
    """The account stage over the bars (bid = ask = the close), in segments of `chunk`; the
    fill legs. Each segment's rows are dropped once counted, as the flow hands them on to its
    sinks: keeping them all would make the collector's passes over live objects part of the
    figure."""
    state, params, fills = new_account(config), AccountParams(run_id="bench"), 0
    for segment, horizon in segments(ts, (close, close, close), "RW", chunk):
        fills += len(advance(state, segment, horizon, params).fills)
    return fills


def cpu_seconds(ts: np.ndarray, close: np.ndarray, config: AlgorithmConfig, chunk: int) -> float:
    gc.collect()
    start = time.process_time()
    run_stage(ts, close, config, chunk)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ts, close = series(args.bars)
    busy = sar_config()
    quiet = sar_config(fast=SLOW * 300 - 1, slow=SLOW * 300)
    legs = run_stage(ts, close, busy, args.chunk)  # also the warm-up
    run_stage(ts, close, quiet, args.chunk)
    busy_s, quiet_s = [], []
    for _ in range(args.runs):
        busy_s.append(cpu_seconds(ts, close, busy, args.chunk))
        quiet_s.append(cpu_seconds(ts, close, quiet, args.chunk))
    busy_median, quiet_median = statistics.median(busy_s), statistics.median(quiet_s)
    print(f"## The account stage alone: {args.bars:,} bars, SMA 10/30 stop-and-reverse\n")
    print(f"```\n{COMMAND} --bars {args.bars} --runs {args.runs}\n```\n")
    print(
        f"Machine: {machine_line()}. Started {started}; 1-minute load {load_before:.2f} before, "
        f"{load_average():.2f} after. CPU seconds, medians of {args.runs} runs after a warm-up, "
        f"segments of {args.chunk:,} ticks.\n"
    )
    print("| strategy | median CPU s | fill legs |")
    print("|---|---:|---:|")
    print(f"| SMA 10/30 stop-and-reverse | {busy_median:.3f} | {legs:,} |")
    print(f"| almost no signals | {quiet_median:.3f} | |")
    per_leg = (busy_median - quiet_median) / max(legs, 1) * 1e6
    print(f"\nPer decision-and-fill leg in the account stage: {per_leg:.1f} µs.")


if __name__ == "__main__":
    main()
