"""Benchmark: the walk-forward's 20 accounts in the account stage alone, without Bytewax or sinks.

Run from the repository root:

    .venv/bin/python benchmarks/account_stage_sweep.py --bars 50000 --runs 3

The series and the 20 combinations of walk_forward.py (one-second bars of a random walk with a
2-cent spread; moving-average cross fast 10..50 x slow 100..400), each segment of `--chunk`
ticks handed to every account's `flows.accounts.timeline.advance` in turn, as an account shard
does. Reported: the rows made and the minimum CPU seconds (`time.process_time`) of `--runs`
runs after a warm-up; the minimum, since on a shared machine other work only ever adds time.
Few signals per account, so this weighs what a walk-forward pays for: marking between events
and the boundaries (snapshots, the state row, the day so far) more than the legs.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
from account_stage import segments
from common import load_average, machine_line
from walk_forward import FASTS, SLOWS, START_MS, config

from flows.accounts.state import AccountParams, new_account
from flows.accounts.timeline import advance


def series(bars: int) -> tuple[np.ndarray, np.ndarray]:
    """walk_forward.write_bars's times and mids, without the file."""
    rng = np.random.default_rng(5)
    mid = np.round(100.0 * np.exp(np.cumsum(rng.normal(0, 0.0002, bars))), 2)
    return START_MS + np.arange(bars, dtype=np.int64) * 1000, mid


def run_stage(ts: np.ndarray, mid: np.ndarray, chunk: int) -> int:
    """Every account over the bars, a segment at a time; the rows they made."""
    params = AccountParams(run_id="bench")
    states = [new_account(config(fast, slow)) for fast in FASTS for slow in SLOWS]
    rows = 0
    for segment, horizon in segments(ts, (mid - 0.01, mid + 0.01, mid), "AAPL", chunk, volume=100):
        for state in states:
            rows += len(advance(state, segment, horizon, params))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ts, mid = series(args.bars)
    rows = run_stage(ts, mid, args.chunk)  # also the warm-up
    cpu = []
    for _ in range(args.runs):
        gc.collect()
        began = time.process_time()
        run_stage(ts, mid, args.chunk)
        cpu.append(time.process_time() - began)
    print(
        f"Machine: {machine_line()}. Started {started}; 1-minute load {load_before:.2f} before, "
        f"{load_average():.2f} after."
    )
    runs = " / ".join(f"{c:.3f}" for c in cpu)
    print(f"20 accounts, {args.bars:,} bars: {rows:,} rows; CPU s {runs}, minimum {min(cpu):.3f}")


if __name__ == "__main__":
    main()
