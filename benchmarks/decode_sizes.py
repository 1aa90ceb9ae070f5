"""Decoding `market.ticks` with and without quoted sizes: what the size columns cost.

Run from a checkout: `.venv/bin/python benchmarks/decode_sizes.py`. To compare with another
checkout's code, put it first on the path: `PYTHONPATH=/other/checkout .venv/bin/python
benchmarks/decode_sizes.py --plain-only` (a checkout without sizes cannot decode them).
Prints the median CPU seconds (process time: the machine is shared) over repeats, for 200
batches of 1,000 messages each.
"""

from __future__ import annotations

import statistics
import sys
import time

import orjson

from flows.sources.decode import decode_ticks
from flows.sources.kafka import RawBatch

BATCHES, SIZE, REPEATS = 200, 1000, 7
T0 = 1_795_444_200_000


def batch(sized: bool, number: int) -> RawBatch:
    values: list[bytes | None] = []
    for i in range(SIZE):
        tick = {"symbol": "AAPL", "ts": T0 + number * SIZE + i, "bid": 190.0, "ask": 190.02}
        tick |= {"last": 190.01, "volume": 100}
        if sized:
            tick |= {"bid_size": 300, "ask_size": 200}
        values.append(orjson.dumps(tick))
    n = len(values)
    return RawBatch("t", 0, range(n), keys=[None] * n, values=values, timestamps=[0] * n)


def median_seconds(sized: bool) -> float:
    batches = [batch(sized, k) for k in range(BATCHES)]
    times = []
    for _ in range(REPEATS):
        started = time.process_time()
        for raw in batches:
            decode_ticks(raw, set())
        times.append(time.process_time() - started)
    return statistics.median(times)


if __name__ == "__main__":
    print(f"plain  {median_seconds(False):.3f} s for {BATCHES * SIZE:,} messages")
    if "--plain-only" not in sys.argv:
        print(f"sized  {median_seconds(True):.3f} s for {BATCHES * SIZE:,} messages")
