"""Benchmark: what brackets on every entry cost the 1,000,000-tick ma_cross file replay.

Run from the repository root:

    .venv/bin/python benchmarks/bracket_overhead.py            # Markdown section
    .venv/bin/python benchmarks/bracket_overhead.py --runs 5

The flow_throughput.py input and strategy (one simulated AAPL session cut at 1,000,000 ticks,
written to Parquet; ma_cross fast 50 / slow 200 ticks, 100 shares, default costs and limits),
replayed from the file with one worker through `flows.runs.backtest.run_backtest` (the whole
call: the Bytewax run, the ClickHouse writes, the run's record and metrics), without exits and
with a bracket on every entry (a take-profit limit 0.1 % above the entry and a stop-loss stop
0.1 % below it, one OCO group: tight, so that exits fill often), and with a 0.1 % trailing stop
added to the group. The variants alternate, after one warm-up run of each; every figure is
the median of `--runs`.
Target (issue 15): with brackets within 1.3x of the time without.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from common import (
    bench_settings,
    load_average,
    ma_config,
    machine_line,
    median,
    rows_written,
    tick_series,
    write_parquet,
)

from flows.runs.backtest import Source, run_backtest
from schemas.config import AlgorithmConfig, Exits

COMMAND = ".venv/bin/python benchmarks/bracket_overhead.py"
TARGET = 1.3
BRACKET = Exits(stop_loss_pct=0.001, take_profit_pct=0.001)
TRAILING = Exits(stop_loss_pct=0.001, take_profit_pct=0.001, trailing_stop_pct=0.001)
PLAIN, WITH_BRACKET, WITH_TRAILING = (
    "without exits",
    "bracket on every entry",
    "bracket + trailing stop on every entry",
)


def timed(  # type: ignore[no-untyped-def]
    settings, config: AlgorithmConfig, path: Path, run_id: str
) -> tuple[float, float, dict[str, int]]:
    """Wall seconds, CPU seconds of the process (every thread: Bytewax, chdb) and rows."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    run_backtest(settings, [config], Source(file=path), run_id=run_id, workers=1)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu_seconds, rows_written(settings, run_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ticks = tick_series(args.ticks)
    plain = ma_config(["AAPL"])
    variants = {
        PLAIN: plain,
        WITH_BRACKET: plain.model_copy(update={"account_id": "bench-bracket", "exits": BRACKET}),
        WITH_TRAILING: plain.model_copy(update={"account_id": "bench-trail", "exits": TRAILING}),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    rows: dict[str, dict[str, int]] = {}
    loads = []
    with bench_settings("strikeflow-bracket-") as settings:
        path = settings.data_dir / "ticks.parquet"
        write_parquet(ticks, path)
        for config in variants.values():  # warm-up: imports, tables, caches
            timed(settings, config, path, f"warm-{config.account_id}")
        for number in range(args.runs):
            for name, config in variants.items():
                took, used, written = timed(
                    settings, config, path, f"run-{number}-{config.account_id}"
                )
                seconds[name].append(took)
                cpu[name].append(used)
                rows[name] = written
                loads.append(load_average())
    print("## Brackets on every entry: the cost of exits (issue 15)\n")
    print(
        f"Command: `{COMMAND} --runs {args.runs}`. Machine: {machine_line()}; "
        f"2 cores (1-minute load average {median(loads):.1f} during "
        "the runs), so absolute times are noisy; the ratio is measured in the same run.\n"
    )
    print(
        "| variant | median wall s | wall s of each run | median CPU s | CPU s of each run "
        "| ticks/s (wall) | fills | order rows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in variants:
        m, c = median(seconds[name]), median(cpu[name])
        runs = ", ".join(f"{s:.2f}" for s in seconds[name])
        cpus = ", ".join(f"{s:.2f}" for s in cpu[name])
        print(
            f"| {name} | {m:.2f} | {runs} | {c:.2f} | {cpus} | {args.ticks / m:,.0f} | "
            f"{rows[name].get('paper_fills', 0):,} | {rows[name].get('paper_orders', 0):,} |"
        )
    for name in (WITH_BRACKET, WITH_TRAILING):
        wall = median(seconds[name]) / median(seconds[PLAIN])
        used = median(cpu[name]) / median(cpu[PLAIN])
        print(
            f"\n{name} / without exits: **{used:.2f}x** in CPU time, {wall:.2f}x in wall time "
            f"(target {TARGET}x)."
        )
    print(
        "\nCPU time is the process's own (all its threads), less disturbed by the other "
        "sessions than wall time."
    )


if __name__ == "__main__":
    main()
