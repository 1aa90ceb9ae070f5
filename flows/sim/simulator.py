"""Simulated market data: realistic-looking ticks for several symbols, deterministic for a seed.

Model, per symbol and trading session (09:30-16:00 exchange time, weekdays):
- Variance follows a Heston (CIR) process on a one-minute grid; log prices follow it at every
  tick with correlated noise (the leverage effect) plus rare jumps.
- Tick arrivals are Poisson with an intraday U shape: busy at the open and the close.
- Spreads widen at the open and with volatility; quotes sit on a one-cent grid; trade sizes are
  round lots with a heavy tail.
- With `quote_sizes`, each quote also has a bid and an ask size (round lots, geometric: mostly
  a few hundred shares, now and then thousands), drawn from a stream of their own so that the
  prices are the same with sizes as without; the feed's option quotes get sizes in contracts
  under the same switch (`option_quote_sizes`).
Everything is drawn from numpy's PCG64 seeded by (seed, symbol, day), so the same arguments give
the same ticks on any machine.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from flows.trading.portable_math import exp
from flows.trading.ticks import Floats, Int64s, TickColumns

SESSION_OPEN = time(9, 30)
SESSION_CLOSE = time(16, 0)
MINUTES = 390
TRADING_MINUTES_PER_YEAR = 252 * MINUTES

# Starting prices for well-known tickers; other symbols get a stable pseudo-random price.
KNOWN_PRICES = {"AAPL": 190.0, "MSFT": 420.0, "NVDA": 140.0, "SPY": 590.0, "AMZN": 200.0}


@dataclass(frozen=True, slots=True)
class SimParams:
    seed: int = 7
    ticks_per_minute: float = 60.0  # average per symbol; the U shape redistributes it
    vol_of_vol: float = 0.6
    mean_reversion: float = 4.0  # per year
    leverage: float = -0.7  # correlation of price and variance shocks
    jumps_per_day: float = 0.5
    jump_size: float = 0.01  # standard deviation of a jump's log size
    spread_bps: float = 2.0
    timezone: str = "America/New_York"
    quote_sizes: bool = False  # quotes carry bid and ask sizes (off: the ticks are as before)


def stable_hash(*parts: object) -> int:
    """A hash that is the same in every process (Python's hash() of str is salted)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(np.random.PCG64(stable_hash(*parts)))


def start_price(symbol: str, seed: int) -> float:
    if symbol in KNOWN_PRICES:
        return KNOWN_PRICES[symbol]
    return float(np.round(20 + _rng("price", seed, symbol).random() * 480, 2))


def base_volatility(symbol: str, seed: int) -> float:
    """Long-run annualised volatility of the simulated symbol, in [0.15, 0.45]."""
    return float(0.15 + 0.30 * _rng("vol", seed, symbol).random())


def session_bounds(day: date, timezone: str) -> tuple[int, int]:
    zone = ZoneInfo(timezone)
    opens = datetime.combine(day, SESSION_OPEN, zone).astimezone(UTC)
    closes = datetime.combine(day, SESSION_CLOSE, zone).astimezone(UTC)
    return int(opens.timestamp() * 1000), int(closes.timestamp() * 1000)


def trading_days(first: date, count: int) -> list[date]:
    """`count` weekdays from `first` on (holidays are not modelled)."""
    days: list[date] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _u_shape(minutes: np.ndarray) -> np.ndarray:
    """Relative tick rate through the session: about 2x the mean at the open and the close,
    half of it at midday; averages 1 over the session."""
    x = minutes / MINUTES
    result: np.ndarray = (0.55 + 1.8 * (2 * x - 1) ** 2) / 1.15
    return result


@dataclass(slots=True)
class SymbolState:
    """What carries over from one simulated session to the next."""

    price: float
    variance: float


def simulate_symbol(
    symbol: str, day: date, params: SimParams, carry: SymbolState | None = None
) -> tuple[Int64s, Floats, Floats, Floats, Int64s, SymbolState]:
    """One symbol's ticks for one session: (ts, bid, ask, last, volume, state at the close)."""
    rng = _rng("ticks", params.seed, symbol, day.isoformat())
    theta = base_volatility(symbol, params.seed) ** 2
    price = carry.price if carry else start_price(symbol, params.seed)
    variance = carry.variance if carry else theta
    opens, _ = session_bounds(day, params.timezone)

    # Variance on a minute grid (CIR, full truncation), then overnight-gap-free prices.
    dt = 1.0 / TRADING_MINUTES_PER_YEAR
    shocks = rng.standard_normal(MINUTES)
    grid = np.empty(MINUTES + 1)
    grid[0] = variance
    for m in range(MINUTES):
        v = max(grid[m], 0.0)
        grid[m + 1] = (
            v
            + params.mean_reversion * (theta - v) * dt
            + params.vol_of_vol * np.sqrt(v * dt) * shocks[m]
        )
    grid = np.maximum(grid, theta * 0.05)

    minute = np.arange(MINUTES)
    counts = rng.poisson(params.ticks_per_minute * _u_shape(minute + 0.5))
    minute_of_tick = np.repeat(minute, counts)
    offsets_ms = rng.random(len(minute_of_tick)) * 60_000
    order = np.lexsort((offsets_ms, minute_of_tick))
    minute_of_tick, offsets_ms = minute_of_tick[order], offsets_ms[order]
    ts = opens + minute_of_tick.astype(np.int64) * 60_000 + offsets_ms.astype(np.int64)

    n = len(ts)
    tick_var = grid[minute_of_tick]
    step_years = np.diff(np.concatenate([[opens], ts])) / (TRADING_MINUTES_PER_YEAR * 60_000.0)
    step_years = np.maximum(step_years, 1e-12)
    # The leverage effect ties each minute's price move to that minute's variance shock. The
    # shared part is spread over the minute's ticks (scaled by 1/sqrt(ticks)), so it moves the
    # minute as a whole without making consecutive ticks trend.
    per_minute = np.maximum(counts, 1)[minute_of_tick]
    shared = shocks[minute_of_tick] / np.sqrt(per_minute)
    own_noise = rng.standard_normal(n)
    noise = params.leverage * shared + np.sqrt(1 - params.leverage**2) * own_noise
    log_returns = -0.5 * tick_var * step_years + np.sqrt(tick_var * step_years) * noise
    jumps = rng.random(n) < params.jumps_per_day / max(n, 1)
    log_returns[jumps] += rng.normal(0.0, params.jump_size, int(jumps.sum()))
    mid = price * exp(np.cumsum(log_returns))

    vol_now = np.sqrt(tick_var)
    open_widening = 1.0 + 2.0 * exp(-minute_of_tick / 15.0)
    half_spread = mid * params.spread_bps / 20_000 * open_widening * (vol_now / np.sqrt(theta))
    bid = np.floor((mid - half_spread) * 100) / 100
    ask = np.maximum(np.ceil((mid + half_spread) * 100) / 100, bid + 0.01)
    bid = np.maximum(bid, 0.01)
    at_ask = rng.random(n) < 0.5
    last = np.where(at_ask, ask, bid)
    volume = (np.ceil(rng.pareto(1.8, n) * 2 + 1) * 100).astype(np.int64)
    final = SymbolState(price=float(mid[-1]) if n else price, variance=float(grid[-1]))
    return ts.astype(np.int64), bid, ask, last, volume, final


def simulate_session(
    symbols: list[str], day: date, params: SimParams, carry: dict[str, SymbolState] | None = None
) -> tuple[TickColumns, dict[str, SymbolState]]:
    """All symbols' ticks for one session, merged in time order."""
    carry = dict(carry or {})
    parts = []
    sizes: list[tuple[Int64s, Int64s]] = []
    for code, symbol in enumerate(symbols):
        ts, bid, ask, last, volume, carry[symbol] = simulate_symbol(
            symbol, day, params, carry.get(symbol)
        )
        parts.append((ts, np.full(len(ts), code, dtype=np.int32), bid, ask, last, volume))
        if params.quote_sizes:
            sizes.append(quote_sizes(symbol, day, params.seed, len(ts)))
    ts = np.concatenate([p[0] for p in parts])
    codes = np.concatenate([p[1] for p in parts])
    order = np.lexsort((codes, ts))
    ticks = TickColumns(
        ts=ts[order],
        codes=codes[order],
        symbols=tuple(symbols),
        bid=np.concatenate([p[2] for p in parts])[order],
        ask=np.concatenate([p[3] for p in parts])[order],
        last=np.concatenate([p[4] for p in parts])[order],
        volume=np.concatenate([p[5] for p in parts])[order],
    )
    if params.quote_sizes:
        ticks.bid_size = np.concatenate([bids for bids, _ in sizes])[order]
        ticks.ask_size = np.concatenate([asks for _, asks in sizes])[order]
    return ticks, carry


def option_quote_sizes(symbol: str, at: int, seed: int, n: int) -> tuple[Int64s, Int64s]:
    """Bid and ask sizes, in contracts, of the `n` quotes of `symbol`'s chain at event time
    `at`: geometric, mostly a few contracts, now and then a few dozen (a stream of their own,
    so the chain's prices are the same with sizes as without)."""
    rng = _rng("option sizes", seed, symbol, at)
    contracts = rng.geometric(0.15, size=(2, n)).astype(np.int64)
    return contracts[0], contracts[1]


def quote_sizes(symbol: str, day: date, seed: int, n: int) -> tuple[Int64s, Int64s]:
    """Bid and ask sizes of a session's `n` quotes: round lots, 100 x (1 + a geometric draw)."""
    rng = _rng("sizes", seed, symbol, day.isoformat())
    lots = rng.geometric(0.35, size=(2, n)).astype(np.int64)
    return lots[0] * 100, lots[1] * 100
