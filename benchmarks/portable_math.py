"""Benchmark: what the portable maths (same bits on every CPU) costs against numpy/scipy's
SIMD kernels, for the functions themselves and for the pricers that use them.

Run from the repository root:

    .venv/bin/python benchmarks/portable_math.py

Both sides run in the same process, interleaved, pinned to one core: "numpy" swaps numpy's
`exp`/`log` and scipy's `ndtr`/`ndtri` back into the pricing modules (their code was changed
only by those names), "portable" is the shipped code. Each timing is the median of `REPEATS`
runs; the ratio is portable / numpy. Prints a Markdown section for RESULTS.md.
"""

from __future__ import annotations

import importlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import numpy as np  # noqa: E402
from scipy import special  # noqa: E402

from flows.trading import portable_math, portable_normal  # noqa: E402
from flows.trading.pricing import black_scholes, implied_volatility  # noqa: E402

# The modules, not the functions the package re-exports under the same names.
bs_module = importlib.import_module("flows.trading.pricing.black_scholes")
iv_module = importlib.import_module("flows.trading.pricing.implied_vol")

REPEATS = 9
N = 1_000_000
N_IV = 100_000
SEED = 20261202

NUMPY_NAMES: dict[Any, dict[str, Any]] = {
    bs_module: {"exp": np.exp, "log": np.log, "ndtr": special.ndtr},
    iv_module: {"exp": np.exp, "log": np.log, "ndtr": special.ndtr, "ndtri": special.ndtri},
}


@contextmanager
def numpy_kernels() -> Iterator[None]:
    """The pricers as they were: numpy's and scipy's functions in place of the portable ones."""
    saved = {m: {n: getattr(m, n) for n in names} for m, names in NUMPY_NAMES.items()}
    try:
        for module, names in NUMPY_NAMES.items():
            for name, function in names.items():
                setattr(module, name, function)
        yield
    finally:
        for module, names in saved.items():
            for name, function in names.items():
                setattr(module, name, function)


def median_seconds(run: Callable[[], object]) -> float:
    run()  # warm-up
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    rng = np.random.default_rng(SEED)
    x = rng.uniform(-20, 20, N)
    positive = np.exp(rng.uniform(-20, 20, N))
    d = rng.normal(0, 2, N)
    p = rng.uniform(1e-12, 1 - 1e-12, N)
    s, k = rng.uniform(50, 150, N), rng.uniform(40, 160, N)
    t, v = rng.uniform(1 / 365, 2, N), rng.uniform(0.05, 0.8, N)
    c = rng.random(N) < 0.5
    price = black_scholes(s[:N_IV], k[:N_IV], t[:N_IV], 0.03, v[:N_IV], c[:N_IV], 0.01).price

    def greeks() -> object:
        return black_scholes(s, k, t, 0.03, v, c, 0.01)

    def implied() -> object:
        return implied_volatility(price, s[:N_IV], k[:N_IV], t[:N_IV], 0.03, c[:N_IV], 0.01)

    kernels: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("exp, 1M", lambda: np.exp(x), lambda: portable_math.exp(x)),
        ("log, 1M", lambda: np.log(positive), lambda: portable_math.log(positive)),
        ("normal CDF, 1M", lambda: special.ndtr(d), lambda: portable_normal.ndtr(d)),
        ("normal quantile, 1M", lambda: special.ndtri(p), lambda: portable_normal.ndtri(p)),
    ]
    rows = [(name, median_seconds(a), median_seconds(b)) for name, a, b in kernels]
    with numpy_kernels():
        before = median_seconds(greeks), median_seconds(implied)
    after = median_seconds(greeks), median_seconds(implied)
    rows.append(("price + 5 Greeks, 1M contracts", before[0], after[0]))
    rows.append(("implied vol, 100k prices", before[1], after[1]))

    machine = platform.processor() or platform.machine()
    print("## Portable maths: the cost of the same bits on every CPU\n")
    print(
        f"`.venv/bin/python benchmarks/portable_math.py`; {machine}, numpy {np.__version__}, "
        f"one core, medians of {REPEATS}.\n"
    )
    print("| what | numpy/scipy (SIMD) | portable | portable / numpy |")
    print("|---|---:|---:|---:|")
    for name, numpy_time, portable_time in rows:
        ratio = portable_time / numpy_time
        times = f"{numpy_time * 1000:.1f} ms | {portable_time * 1000:.1f} ms"
        print(f"| {name} | {times} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
