"""Benchmark: flows.trading.pricing against py_vollib and QuantLib on the same random contracts.

Run from the repository root (the peers are installed for this run only):

    UV_PYTHON_DOWNLOADS=never python3 -m uv run --with py_vollib --with QuantLib \\
        python benchmarks/pricing.py

Measures, on one core (the process pins itself to CPU 0; BLAS/OpenMP threads are set to 1):
- price + five Greeks for 1,000,000 contracts, and implied vol for 100,000, with
  flows.trading.pricing;
- the same per contract with py_vollib (scalar, Let's Be Rational) on a 20,000-contract sample
  and QuantLib (AnalyticEuropeanEngine) on a 5,000-contract sample;
- a naive numpy closed form (one expression per formula) for scale.
Every timing is the median of `REPEATS` runs. Prints a Markdown section for RESULTS.md.
"""

from __future__ import annotations

import importlib
import math
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Thread pools read these when numpy and scipy load, so they are set before those imports.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import numpy as np  # noqa: E402
from common import cpu_model  # noqa: E402
from scipy.special import ndtr  # noqa: E402

from flows.trading.pricing import IV_OK, IV_REASONS, Greeks, black_scholes, implied_volatility  # noqa: E402

REPEATS = 11
N_GREEKS = 1_000_000
N_IV = 100_000
N_VOLLIB = 20_000
N_QUANTLIB = 5_000
SEED = 20261125


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
        return "pinned to CPU 0 (sched_setaffinity, as `taskset -c 0`)"
    return "not pinned (no sched_setaffinity on this platform)"


class Timing(NamedTuple):
    median: float  # seconds
    best: float  # seconds


def timed(run: Callable[[], object], repeats: int = REPEATS) -> Timing:
    """Wall time of `repeats` runs after a warm-up run (imports, caches, first page faults)."""
    run()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return Timing(statistics.median(timings), min(timings))


def random_book(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Contracts a desk might hold: whole days to expiry (so QuantLib's dates match exactly)."""
    spot = rng.uniform(50.0, 150.0, n)
    return {
        "spot": spot,
        "strike": np.round(spot * np.exp(rng.normal(0.0, 0.15, n)), 2),
        "days": rng.integers(1, 731, n),
        "rate": rng.uniform(0.0, 0.06, n),
        "dividend": rng.uniform(0.0, 0.03, n),
        "vol": rng.uniform(0.10, 0.80, n),
        "is_call": rng.random(n) < 0.5,
    }


def naive_closed_form(b: dict[str, np.ndarray], years: np.ndarray) -> tuple[np.ndarray, ...]:
    s, k, r, q, v, c = b["spot"], b["strike"], b["rate"], b["dividend"], b["vol"], b["is_call"]
    sqrt_t = np.sqrt(years)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * years) / (v * sqrt_t)
    d2 = d1 - v * sqrt_t
    w = np.where(c, 1.0, -1.0)
    dq, dr = np.exp(-q * years), np.exp(-r * years)
    n1, n2 = ndtr(w * d1), ndtr(w * d2)
    pdf = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    price = w * (s * dq * n1 - k * dr * n2)
    delta = w * dq * n1
    gamma = dq * pdf / (s * v * sqrt_t)
    vega = s * dq * pdf * sqrt_t
    theta = -s * dq * pdf * v / (2 * sqrt_t) + w * (q * s * dq * n1 - r * k * dr * n2)
    rho = w * k * years * dr * n2
    return price, delta, gamma, vega, theta, rho


def vollib_peer() -> dict[str, Any] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # py_vollib announces its rename to vollib
            from py_vollib.black_scholes_merton import black_scholes_merton
            from py_vollib.black_scholes_merton.greeks import analytical
            from py_vollib.black_scholes_merton.implied_volatility import implied_volatility
    except ImportError:
        return None
    return {
        "price": black_scholes_merton,
        "greeks": analytical,
        "iv": implied_volatility,
    }


def vollib_greeks(vl: dict[str, Any], b: dict[str, np.ndarray], years: np.ndarray) -> np.ndarray:
    a = vl["greeks"]
    out = np.empty((6, years.size))
    for i in range(years.size):
        args = (
            "c" if b["is_call"][i] else "p",
            float(b["spot"][i]),
            float(b["strike"][i]),
            float(years[i]),
            float(b["rate"][i]),
            float(b["vol"][i]),
            float(b["dividend"][i]),
        )
        out[:, i] = (
            vl["price"](*args),
            a.delta(*args),
            a.gamma(*args),
            a.vega(*args),
            a.theta(*args),
            a.rho(*args),
        )
    return out


def vollib_iv(
    vl: dict[str, Any], prices: np.ndarray, b: dict[str, np.ndarray], years: np.ndarray
) -> np.ndarray:
    out = np.empty(years.size)
    for i in range(years.size):
        try:
            out[i] = vl["iv"](
                float(prices[i]),
                float(b["spot"][i]),
                float(b["strike"][i]),
                float(years[i]),
                float(b["rate"][i]),
                float(b["dividend"][i]),
                "c" if b["is_call"][i] else "p",
            )
        except Exception:  # py_vollib raises for prices outside its bounds
            out[i] = np.nan
    return out


class QuantLibPeer:
    """AnalyticEuropeanEngine over quotes that are reset per contract, the fast QuantLib idiom."""

    def __init__(self, ql: Any) -> None:
        self.ql = ql
        self.today = ql.Date(25, 11, 2026)
        ql.Settings.instance().evaluationDate = self.today
        dc = ql.Actual365Fixed()
        self.spot, self.rate = ql.SimpleQuote(100.0), ql.SimpleQuote(0.0)
        self.dividend, self.vol = ql.SimpleQuote(0.0), ql.SimpleQuote(0.2)
        curve = ql.FlatForward
        self.process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(self.spot),
            ql.YieldTermStructureHandle(curve(self.today, ql.QuoteHandle(self.dividend), dc)),
            ql.YieldTermStructureHandle(curve(self.today, ql.QuoteHandle(self.rate), dc)),
            ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(self.today, ql.NullCalendar(), ql.QuoteHandle(self.vol), dc)
            ),
        )
        self.engine = ql.AnalyticEuropeanEngine(self.process)

    def option(self, b: dict[str, np.ndarray], i: int) -> Any:
        ql = self.ql
        self.spot.setValue(float(b["spot"][i]))
        self.rate.setValue(float(b["rate"][i]))
        self.dividend.setValue(float(b["dividend"][i]))
        self.vol.setValue(float(b["vol"][i]))
        right = ql.Option.Call if b["is_call"][i] else ql.Option.Put
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(right, float(b["strike"][i])),
            ql.EuropeanExercise(self.today + int(b["days"][i])),
        )
        option.setPricingEngine(self.engine)
        return option

    def greeks(self, b: dict[str, np.ndarray], n: int) -> np.ndarray:
        out = np.empty((6, n))
        for i in range(n):
            o = self.option(b, i)
            out[:, i] = (o.NPV(), o.delta(), o.gamma(), o.vega(), o.theta(), o.rho())
        return out

    def iv(self, prices: np.ndarray, b: dict[str, np.ndarray], n: int) -> np.ndarray:
        out = np.empty(n)
        for i in range(n):
            o = self.option(b, i)
            try:
                out[i] = o.impliedVolatility(float(prices[i]), self.process, 1e-12, 1000, 1e-7, 4.0)
            except RuntimeError:  # QuantLib throws when it cannot bracket or converge
                out[i] = np.nan
        return out


def iv_agreement(
    name: str, ours: np.ndarray, theirs: np.ndarray, true_vol: np.ndarray
) -> list[tuple[str, str]]:
    """Where both give a vol: their difference, and each one's error against the vol that made
    the price. Where only the peer gives one: how wrong it is (why flows.trading.pricing said
    NaN)."""
    both = np.isfinite(ours) & np.isfinite(theirs)
    only_theirs = ~np.isfinite(ours) & np.isfinite(theirs)
    their_error = np.abs(theirs - true_vol)
    our_error = np.abs(ours - true_vol)

    def worst(errors: np.ndarray, where: np.ndarray) -> str:
        if not where.any():
            return "none"
        return f"{errors[where].max():.2e}, {(errors[where] > 1e-8).sum()}"

    return [
        (f"{name} iv ({both.sum():,} contracts both solve)", f"{max_abs(ours, theirs):.2e}"),
        (f"… {name} iv vs the true vol (max error, count > 1e-8)", worst(their_error, both)),
        (
            "… flows.trading.pricing iv vs the true vol (max error, count > 1e-8)",
            worst(our_error, both),
        ),
        (
            f"… {name} iv where flows.trading.pricing gives NaN ({only_theirs.sum()} contracts) "
            "vs the true vol (max error, count > 1e-8)",
            worst(their_error, only_theirs),
        ),
    ]


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else math.nan


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


@dataclass
class Ours:
    """flows.trading.pricing on the random book, and what the peers are compared with."""

    book: dict[str, np.ndarray]
    years: np.ndarray
    greeks: Any
    implied: Any
    iv_prices: np.ndarray
    t_greeks: Timing
    t_iv: Timing
    rows: list[tuple[str, str, int, Timing, str]] = field(default_factory=list)
    diffs: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def measure_ours(book: dict[str, np.ndarray]) -> Ours:
    years = book["days"] / 365.0
    args = (book["spot"], book["strike"], years, book["rate"], book["vol"], book["is_call"])
    ours = black_scholes(*args, book["dividend"])
    t_ours = timed(lambda: black_scholes(*args, book["dividend"]))
    t_naive = timed(lambda: naive_closed_form(book, years))
    naive = naive_closed_form(book, years)
    naive_diff = max(max_abs(a, b) for a, b in zip(ours, naive, strict=True))
    iv = {name: values[:N_IV] for name, values in book.items()}
    iv_prices = ours.price[:N_IV]

    def our_iv() -> Any:
        return implied_volatility(
            iv_prices, iv["spot"], iv["strike"], years[:N_IV], iv["rate"], iv["is_call"],
            iv["dividend"],
        )  # fmt: skip

    implied = our_iv()
    t_iv = timed(our_iv)
    ok = implied.reason == IV_OK
    iv_error = float(np.max(np.abs(implied.iv[ok] - iv["vol"][ok])))
    result = Ours(book, years, ours, implied, iv_prices, t_ours, t_iv)
    result.rows += [
        ("flows.trading.pricing", "price + 5 Greeks", N_GREEKS, t_ours, ""),
        ("naive numpy closed form", "price + 5 Greeks", N_GREEKS, t_naive, ""),
        ("flows.trading.pricing", "implied vol", N_IV, t_iv, ""),
    ]
    result.diffs += [
        ("naive numpy, price and Greeks (textbook units)", f"{naive_diff:.2e}"),
        (
            f"flows.trading.pricing iv vs the true vol ({ok.sum():,} of {N_IV:,} solved)",
            f"{iv_error:.2e}",
        ),
    ]
    return result


def compare_vollib(ours: Ours) -> None:
    vl = vollib_peer()
    if vl is None:
        ours.notes.append("py_vollib could not be imported: not measured.")
        return
    n, book, years = N_VOLLIB, ours.book, ours.years
    sample = {name: values[:n] for name, values in book.items()}
    t_vl = timed(lambda: vollib_greeks(vl, sample, years[:n]), repeats=5)
    theirs = vollib_greeks(vl, sample, years[:n])
    # py_vollib's trader units: vega and rho per 1 %, theta per day.
    scale = np.array([1.0, 1.0, 1.0, 100.0, 365.0, 100.0])[:, None]
    mine = np.stack([g[:n] for g in ours.greeks]) / scale
    t_vl_iv = timed(lambda: vollib_iv(vl, ours.iv_prices[:n], sample, years[:n]), 5)
    their_iv = vollib_iv(vl, ours.iv_prices[:n], sample, years[:n])
    ours.rows += [
        (
            "py_vollib (scalar)",
            "price + 5 Greeks",
            n,
            t_vl,
            faster(t_vl, n, ours.t_greeks, N_GREEKS),
        ),
        ("py_vollib (scalar, LBR)", "implied vol", n, t_vl_iv, faster(t_vl_iv, n, ours.t_iv, N_IV)),
    ]
    for name, i in zip(Greeks._fields, range(6), strict=True):
        label = f"py_vollib {name}{' (trader units)' if i >= 3 else ''}"
        ours.diffs.append((label, f"{max_abs(mine[i], theirs[i]):.2e}"))
    ours.diffs += iv_agreement("py_vollib", ours.implied.iv[:n], their_iv, book["vol"][:n])


def compare_quantlib(ours: Ours) -> None:
    try:
        ql = importlib.import_module("QuantLib")
    except ImportError:
        ours.notes.append("QuantLib could not be imported: not measured.")
        return
    n, book = N_QUANTLIB, ours.book
    peer = QuantLibPeer(ql)
    t_ql = timed(lambda: peer.greeks(book, n), repeats=5)
    theirs = peer.greeks(book, n)
    mine = np.stack([g[:n] for g in ours.greeks])
    t_ql_iv = timed(lambda: peer.iv(ours.iv_prices, book, n), repeats=5)
    their_iv = peer.iv(ours.iv_prices, book, n)
    ours.rows += [
        (
            "QuantLib AnalyticEuropeanEngine", "price + 5 Greeks", n, t_ql,
            faster(t_ql, n, ours.t_greeks, N_GREEKS),
        ),
        (
            "QuantLib impliedVolatility (acc. 1e-12)", "implied vol", n, t_ql_iv,
            faster(t_ql_iv, n, ours.t_iv, N_IV),
        ),
    ]  # fmt: skip
    for name, i in zip(Greeks._fields, range(6), strict=True):
        ours.diffs.append((f"QuantLib {name}", f"{max_abs(mine[i], theirs[i]):.2e}"))
    ours.diffs += iv_agreement("QuantLib", ours.implied.iv[:n], their_iv, book["vol"][:n])
    ours.notes.append(f"QuantLib {ql.__version__}.")


def faster(theirs: Timing, n: int, mine: Timing, n_mine: int) -> str:
    """How many times faster flows.trading.pricing is per contract (medians)."""
    return f"{theirs.median / n * n_mine / mine.median:,.0f}×"


def main() -> None:
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    pinning = pin_to_one_core()
    ours = measure_ours(random_book(N_GREEKS, np.random.default_rng(SEED)))
    compare_vollib(ours)
    compare_quantlib(ours)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    report(ours, pinning, (load_before, load[0]))


def report(ours: Ours, pinning: str, load: tuple[float, float]) -> None:
    print("## Pricing and implied volatility\n")
    print("Command (from the repository root):\n")
    print("```")
    print(
        "UV_PYTHON_DOWNLOADS=never python3 -m uv run --with py_vollib --with QuantLib "
        "python benchmarks/pricing.py"
    )
    print("```\n")
    print(
        f"Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}; {pinning}; OMP/OPENBLAS/MKL threads = 1. "
        f"1-minute load average {load[0]:.2f} before the run and {load[1]:.2f} after it "
        "(the machine is shared; anything above 0 is other work competing for the cores). "
        f"Medians of {REPEATS} runs for flows.trading.pricing and numpy, 5 for the peers "
        "(after a warm-up run); peers time their whole per-contract loop (QuantLib: resetting "
        "the quotes and building the option). Contracts: spot 50-150, strike "
        "spot·e^N(0, 0.15) to the cent, 1-730 days, rate 0-6 %, dividend 0-3 %, vol 10-80 %, "
        "calls and puts.\n"
    )
    print(
        "| implementation | work | contracts | median time | contracts/s (median) "
        "| contracts/s (best run) | flows.trading.pricing faster by (medians) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, work, n, timing, ratio in ours.rows:
        print(
            f"| {name} | {work} | {n:,} | {timing.median * 1e3:,.1f} ms "
            f"| {rate(n, timing.median)} | {rate(n, timing.best)} | {ratio} |"
        )
    print("\nMaximum absolute differences, flows.trading.pricing vs …\n")
    print("| compared with | max abs difference |")
    print("|---|---:|")
    for name, value in ours.diffs:
        print(f"| {name} | {value} |")
    reasons = {
        IV_REASONS[code]: int(count)
        for code, count in enumerate(np.bincount(ours.implied.reason, minlength=len(IV_REASONS)))
        if count and code != IV_OK
    }
    if reasons:
        print(f"\nImplied vols not returned (NaN with a reason) in the 100,000: {reasons}.")
    for note in ours.notes:
        print(f"\n{note}")


if __name__ == "__main__":
    main()
