"""Benchmark: a walk-forward of a 20-combination sweep against single-configuration backtests.

Run from the repository root:

    .venv/bin/python benchmarks/walk_forward.py [--bars 2000000] [--runs 3]

The series: `--bars` one-second bars of one symbol (a seeded random walk, 24 hours a day, so
2,000,000 bars are 23 days), written once to Parquet. Measured, interleaved, median of `--runs`
runs each after a warm-up run, in one process:
- single: `run_backtest` with one moving-average cross (fast 20, slow 200) over the file;
- walk-forward: `run_backtest` with the 20 combinations fast 10..50 x slow 100..400 as
  accounts of one pass, then `walk_forward_report` over 10 rolling windows (training 30 % of
  the range, then ten test windows of a tenth of the rest), objective Sharpe; the selection
  step is also timed alone.
Wall time and the process's CPU time (every thread: Bytewax's, chdb's) are both reported: on a
shared machine the CPU time says more about the code than the wall time does.
The issue's target: the walk-forward takes less time than 3 single backtests of the same data.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import bench_settings, load_average, machine_line

from flows.runs.backtest import Source, run_backtest
from flows.runs.research import walk_forward_report
from flows.trading.research.windows import WalkForwardPlan
from schemas.config import AlgorithmConfig, MovingAverageCross

COMMAND = ".venv/bin/python benchmarks/walk_forward.py"
START_MS = 1_795_000_000_000
FASTS = (10, 20, 30, 40, 50)
SLOWS = (100, 200, 300, 400)


def write_bars(path: Path, bars: int, seed: int = 5) -> None:
    """One-second bars of a random walk around 100 with a 2-cent spread (deterministic)."""
    rng = np.random.default_rng(seed)
    mid = np.round(100.0 * np.exp(np.cumsum(rng.normal(0, 0.0002, bars))), 2)
    table = pa.table(
        {
            "timestamp": START_MS + np.arange(bars, dtype=np.int64) * 1000,
            "symbol": pa.array(["AAPL"] * bars, type=pa.string()),
            "bid": mid - 0.01,
            "ask": mid + 0.01,
            "last": mid,
            "volume": np.full(bars, 100, dtype=np.int64),
        }
    )
    pq.write_table(table, path)


def config(fast: int, slow: int) -> AlgorithmConfig:
    return AlgorithmConfig.model_validate(
        {
            "account_id": f"wf-fast{fast}-slow{slow}",
            "symbols": ["AAPL"],
            "strategy": MovingAverageCross(fast=fast, slow=slow).model_dump(),
            "limits": {"trading_hours": None},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sweep = [config(f, s) for f in FASTS for s in SLOWS]
    single = [config(20, 200)]
    span_ms = (args.bars - 1) * 1000 + 1  # the event-time range the windows cover
    train_ms = span_ms * 30 // 100
    plan = WalkForwardPlan(train_ms=train_ms, test_ms=-(-(span_ms - train_ms) // 10))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = load_average()
    with bench_settings("sf-wf-") as settings:
        bars = settings.data_dir / "bars.parquet"
        write_bars(bars, args.bars)
        source = Source(file=bars)
        warm = settings.data_dir / "warm.parquet"
        write_bars(warm, 20_000)
        run_backtest(settings, single, Source(file=warm), run_id="warm")
        times: dict[str, list[float]] = {
            key: [] for key in ("singles", "walks", "selections", "cpu_singles", "cpu_walks")
        }
        windows = 0
        for number in range(args.runs):
            gc.collect()
            began, cpu = time.perf_counter(), time.process_time()
            run_backtest(settings, single, source, run_id=f"single-{number}")
            times["singles"].append(time.perf_counter() - began)
            times["cpu_singles"].append(time.process_time() - cpu)
            gc.collect()
            began, cpu = time.perf_counter(), time.process_time()
            result = run_backtest(settings, sweep, source, run_id=f"sweep-{number}")
            chose = time.perf_counter()
            report = walk_forward_report(result, sweep, plan, "sharpe")
            ended = time.perf_counter()
            times["walks"].append(ended - began)
            times["cpu_walks"].append(time.process_time() - cpu)
            times["selections"].append(ended - chose)
            windows = len(report["windows"])
            print(
                f"run {number}: single {times['singles'][-1]:.1f} s "
                f"(CPU {times['cpu_singles'][-1]:.1f} s), walk-forward {times['walks'][-1]:.1f} s "
                f"(CPU {times['cpu_walks'][-1]:.1f} s; selection {times['selections'][-1]:.2f} s), "
                f"{windows} windows",
                file=sys.stderr,
            )
    report_times(args, times, windows, started, load_before)


def report_times(
    args: argparse.Namespace,
    times: dict[str, list[float]],
    windows: int,
    started: str,
    load_before: float,
) -> None:
    singles, walks, selections = times["singles"], times["walks"], times["selections"]
    single_median, walk_median = statistics.median(singles), statistics.median(walks)
    print(f"Command: `{COMMAND} --bars {args.bars} --runs {args.runs}`\n")
    print(
        f"Machine: {machine_line()}. Run started {started}; 1-minute load average "
        f"{load_before:.2f} before and {load_average():.2f} after (2 cores, shared).\n"
    )
    cpu_single = statistics.median(times["cpu_singles"])
    print(
        "| what | bars | accounts | runs (s) | median | median / single median "
        "| CPU median (all threads) | CPU / single CPU |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    rows = (
        ("single backtest (fast 20, slow 200)", 1, singles, times["cpu_singles"]),
        (
            f"walk-forward: 20-combination pass + selection over {windows} windows",
            20,
            walks,
            times["cpu_walks"],
        ),
        ("… of which the selection and stitching", 20, selections, []),
    )
    for name, accounts, runs, cpu in rows:
        cpu_cells = (
            f"{statistics.median(cpu):.2f} s | {statistics.median(cpu) / cpu_single:.2f}×"
            if cpu
            else "| "
        )
        print(
            f"| {name} | {args.bars:,} | {accounts} | "
            f"{', '.join(f'{t:.2f}' for t in runs)} | {statistics.median(runs):.2f} s | "
            f"{statistics.median(runs) / single_median:.2f}× | {cpu_cells} |"
        )
    verdict = "met" if walk_median < 3 * single_median else "not met"
    print(
        f"\nTarget (walk-forward < 3 single backtests): {walk_median:.1f} s vs "
        f"{3 * single_median:.1f} s: {verdict}."
    )


if __name__ == "__main__":
    main()
