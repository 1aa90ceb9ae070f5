"""Synthetic option chains, for when no option quotes are fed (DESIGN.md, `market.options`).

A chain is every listed expiry × strike × (call, put) around the underlying's spot, priced by
`flows.trading.pricing` on a parametric volatility surface, with a bid/ask from a spread model
around the model price. Everything follows from (params, symbol, spot, event time): no wall clock,
no randomness, so a replay synthesises the same chain byte for byte.

Conventions: event times are UTC epoch milliseconds; an option expires at `expiry_time` (16:00)
in the exchange's time zone on its expiry date; time to expiry is ACT/365 calendar time.
Exchange holidays are not modelled (a Good Friday expiry stays on the Friday).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flows.trading.portable_math import exp, log, power
from flows.trading.pricing import (
    FloatArray,
    Greeks,
    black_scholes,
    implied_volatility,
    option_price,
)
from flows.trading.ticks import mid_price
from schemas.common import SYMBOL_PATTERN

MS_PER_DAY = 86_400_000
MS_PER_YEAR = 365 * MS_PER_DAY  # ACT/365
_FRIDAY = 4
_TERM_REFERENCE_YEARS = 0.25
_ONE_DAY_YEARS = 1.0 / 365.0


@dataclass(frozen=True, slots=True)
class ChainParams:
    """How chains are synthesised. Vols and rates are annual decimals (0.20 = 20 %).

    Volatility surface, with k = ln(strike / forward) and T in years (floored at one day):
        vol = base_vol · (T / 0.25)^term_slope + skew · k + smile · k², floored at `min_vol`.
    `base_vols` overrides the base vol per symbol; any other symbol gets one drawn
    deterministically from (seed, symbol) in `base_vol_range`.

    Spread (ask - bid, quote currency per share) around the model price `mid`:
        max(min_spread, relative_spread · mid)
        · (1 + wing_spread · min(|z|, 4))                       z = k / (vol · √T)
        · (1 + short_dated_spread · max(0, 1 - days / 7))
    then the bid is rounded down and the ask up to the cent, with bid >= 0 and ask >= bid + 0.01.
    """

    seed: int = 7
    rate: float = 0.04
    dividend: float = 0.0
    weekly_expiries: int = 4
    monthly_expiries: int = 3
    strikes_each_side: int = 10
    base_vols: tuple[tuple[str, float], ...] = ()
    base_vol_range: tuple[float, float] = (0.18, 0.45)
    skew: float = -0.25
    smile: float = 0.6
    term_slope: float = 0.05
    min_vol: float = 0.05
    relative_spread: float = 0.03
    min_spread: float = 0.02
    wing_spread: float = 0.25
    short_dated_spread: float = 1.0
    timezone: str = "America/New_York"
    expiry_time: time = time(16, 0)

    def __post_init__(self) -> None:
        if min(self.weekly_expiries, self.monthly_expiries, self.strikes_each_side) < 0:
            raise ValueError("expiry and strike counts must not be negative")
        if self.weekly_expiries + self.monthly_expiries == 0:
            raise ValueError("a chain needs at least one expiry")
        low, high = self.base_vol_range
        if not 0.0 < low <= high:
            raise ValueError("base_vol_range must satisfy 0 < low <= high")
        if not all(vol > 0.0 for _, vol in self.base_vols):
            raise ValueError("base vols must be positive")
        if self.min_vol <= 0.0:
            raise ValueError("min_vol must be positive")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc


@dataclass(frozen=True, slots=True, eq=False)
class Chain:
    """One underlying's option chain at one event time; arrays are aligned and read-only.

    Contracts are ordered by expiry, then strike, then call before put. Prices are per share in
    the quote currency; `years` is ACT/365 time to expiry; `iv` annualised; Greeks in
    `flows.trading.pricing` units (vega per 1.00 vol, theta per year, rho per 1.00 rate).
    """

    underlying: str
    ts: int
    spot: float
    expiry: NDArray[np.datetime64]
    expiry_ts: NDArray[np.int64]
    strike: FloatArray
    is_call: NDArray[np.bool_]
    years: FloatArray
    iv: FloatArray
    price: FloatArray
    bid: FloatArray
    ask: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray
    contracts: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.contracts)


@dataclass(slots=True)
class ChainSample:
    """A chain priced at the tick (partition, offset) of the input: its rows' identity.

    `bid_size` and `ask_size` are the quoted sizes of a market chain's contracts, aligned with
    `chain.contracts` (NO_SIZE for a quote without them); None when no quote had sizes (and
    always for the model's chain)."""

    partition: int
    offset: int
    chain: Chain
    bid_size: NDArray[np.int64] | None = None
    ask_size: NDArray[np.int64] | None = None


@lru_cache(maxsize=4096)
def expiry_ts_ms(expiry: date, params: ChainParams) -> int:
    """The expiry moment (`expiry_time` in the exchange's zone on `expiry`), UTC epoch ms."""
    moment = datetime.combine(expiry, params.expiry_time, tzinfo=ZoneInfo(params.timezone))
    return round(moment.timestamp() * 1000)


def _third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(_FRIDAY - first.weekday()) % 7 + 14)


def expiries(ts_ms: int, params: ChainParams) -> list[date]:
    """Listed expiry dates after the event time: the next `weekly_expiries` Fridays and the
    next `monthly_expiries` third Fridays whose expiry moment is strictly after `ts_ms`,
    deduplicated and sorted."""
    today = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(params.timezone)).date()
    friday = today + timedelta(days=(_FRIDAY - today.weekday()) % 7)
    if expiry_ts_ms(friday, params) <= ts_ms:
        friday += timedelta(days=7)
    listed = {friday + timedelta(days=7 * week) for week in range(params.weekly_expiries)}
    year, month, monthlies = today.year, today.month, 0
    while monthlies < params.monthly_expiries:
        third_friday = _third_friday(year, month)
        if expiry_ts_ms(third_friday, params) > ts_ms:
            listed.add(third_friday)
            monthlies += 1
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(listed)


def strike_increment(spot: float) -> float:
    """Listed strike spacing by price level: 0.5 below 25, 1 below 100, 2.5 below 250, else 5."""
    if spot < 25.0:
        return 0.5
    if spot < 100.0:
        return 1.0
    if spot < 250.0:
        return 2.5
    return 5.0


def strike_grid(spot: float, strikes_each_side: int) -> FloatArray:
    """Strikes on the listed increment around the one nearest `spot`, `strikes_each_side` on
    each side; strikes that would not be positive are left out (so a low-priced underlying has
    fewer below)."""
    if not (math.isfinite(spot) and spot > 0.0):
        raise ValueError(f"spot must be a positive finite price, not {spot!r}")
    increment = strike_increment(spot)
    at_the_money = math.floor(spot / increment + 0.5) * increment
    grid = np.round(
        at_the_money + increment * np.arange(-strikes_each_side, strikes_each_side + 1), 2
    )
    result: FloatArray = grid[grid > 0.0]
    return result


def base_vol(symbol: str, params: ChainParams) -> float:
    """The symbol's at-the-money vol at three months: an override, or a deterministic draw.

    The draw hashes (seed, symbol) with BLAKE2b, which, unlike Python's `hash()`, is the same in
    every process and on every machine.
    """
    for name, vol in params.base_vols:
        if name == symbol:
            return vol
    digest = hashlib.blake2b(f"{params.seed}:{symbol}".encode(), digest_size=8).digest()
    unit = int.from_bytes(digest, "big") / 2.0**64
    low, high = params.base_vol_range
    return low + unit * (high - low)


def implied_vol_surface(
    symbol: str, spot: ArrayLike, strike: ArrayLike, years: ArrayLike, params: ChainParams
) -> FloatArray:
    """Annualised implied vol by strike and time to expiry (years); see `ChainParams`.

    Moneyness is measured against the forward, so the smile moves with the spot (sticky
    moneyness). Arguments broadcast.
    """
    t = np.asarray(years, dtype=np.float64)
    forward = np.multiply(spot, exp((params.rate - params.dividend) * t))
    moneyness = log(np.divide(strike, forward))
    term = power(np.maximum(t, _ONE_DAY_YEARS) / _TERM_REFERENCE_YEARS, params.term_slope)
    vol = base_vol(symbol, params) * term + params.skew * moneyness + params.smile * moneyness**2
    result: FloatArray = np.maximum(vol, params.min_vol)
    return result


def _quotes(
    mid: FloatArray,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    iv: FloatArray,
    params: ChainParams,
) -> tuple[FloatArray, FloatArray]:
    """Bid and ask around the model price by the spread model of `ChainParams`."""
    t = np.asarray(years, dtype=np.float64)
    forward = np.multiply(spot, exp((params.rate - params.dividend) * t))
    with np.errstate(divide="ignore", invalid="ignore"):
        # At expiry the standardised moneyness is infinite (or 0/0 at the money): widest wings.
        z = np.abs(log(np.divide(strike, forward))) / (iv * np.sqrt(t))
    wings = 1.0 + params.wing_spread * np.minimum(np.nan_to_num(z, nan=4.0), 4.0)
    short_dated = 1.0 + params.short_dated_spread * np.maximum(0.0, 1.0 - t * 365.0 / 7.0)
    spread = np.maximum(params.min_spread, params.relative_spread * mid) * wings * short_dated
    # The epsilon keeps a price already on a cent (up to float noise) from moving a cent out.
    bid = np.maximum(np.floor((mid - 0.5 * spread) * 100.0 + 1e-6) / 100.0, 0.0)
    ask = np.ceil((mid + 0.5 * spread) * 100.0 - 1e-6) / 100.0
    ask = np.maximum(ask, bid + 0.01)
    bid_cents = np.asarray(np.round(bid, 2), dtype=np.float64)
    ask_cents = np.asarray(np.round(ask, 2), dtype=np.float64)
    return bid_cents, ask_cents


@lru_cache(maxsize=4096)
def _contract_symbols(
    underlying: str, dates: tuple[date, ...], strikes: tuple[float, ...]
) -> tuple[str, ...]:
    # Chains are rebuilt on every batch with the same expiries and strikes; the strings are not.
    return tuple(
        occ_symbol(underlying, expiry, is_call, strike)
        for expiry in dates
        for strike in strikes
        for is_call in (True, False)
    )


def synthesize_chain(symbol: str, spot: float, ts_ms: int, params: ChainParams) -> Chain:
    """Every listed expiry × strike × (call, put) for `symbol` at `spot` (quote currency) and
    event time `ts_ms` (UTC ms), priced in one vectorised call. Deterministic."""
    dates = expiries(ts_ms, params)
    strikes = strike_grid(spot, params.strikes_each_side)
    per_expiry = 2 * strikes.size
    expiry_ts = np.repeat(
        np.array([expiry_ts_ms(expiry, params) for expiry in dates], dtype=np.int64), per_expiry
    )
    strike = np.tile(np.repeat(strikes, 2), len(dates))
    is_call = np.tile(np.array([True, False]), len(dates) * strikes.size)
    years = (expiry_ts - ts_ms) / MS_PER_YEAR
    iv = implied_vol_surface(symbol, spot, strike, years, params)
    greeks = black_scholes(spot, strike, years, params.rate, iv, is_call, params.dividend)
    bid, ask = _quotes(greeks.price, spot, strike, years, iv, params)
    return _frozen_chain(
        symbol,
        ts_ms,
        spot,
        _contract_symbols(symbol, tuple(dates), tuple(strikes.tolist())),
        expiry=np.repeat(np.array(dates, dtype="datetime64[D]"), per_expiry),
        expiry_ts=expiry_ts,
        strike=strike,
        is_call=is_call,
        years=years,
        iv=iv,
        bid=bid,
        ask=ask,
        greeks=greeks,
    )


def _frozen_chain(
    underlying: str,
    ts_ms: int,
    spot: float,
    contracts: tuple[str, ...],
    greeks: Greeks,
    **arrays: NDArray[np.generic],
) -> Chain:
    """A `Chain` of these aligned arrays, made read-only."""
    columns = {**arrays, **greeks._asdict()}
    for array in columns.values():
        array.flags.writeable = False
    return Chain(underlying=underlying, ts=ts_ms, spot=float(spot), contracts=contracts, **columns)


def quote_contract(
    underlying: str,
    spot: float,
    ts_ms: int,
    expiry_ts: int,
    strike: float,
    is_call: bool,
    params: ChainParams,
) -> tuple[float, float, float, Greeks]:
    """One contract's (bid, ask, mid, Greeks) exactly as `synthesize_chain` would quote it.

    `mid` is the model price the quotes straddle; Greeks are 0-d arrays in `flows.trading.pricing`
    units.
    Past its expiry moment a contract is priced at intrinsic value.
    """
    years = max(expiry_ts - ts_ms, 0) / MS_PER_YEAR
    iv = implied_vol_surface(underlying, spot, strike, years, params)
    greeks = black_scholes(spot, strike, years, params.rate, iv, is_call, params.dividend)
    bid, ask = _quotes(greeks.price, spot, strike, years, iv, params)
    return float(bid), float(ask), float(greeks.price), greeks


def mark_contract(
    underlying: str,
    spot: ArrayLike,
    ts: ArrayLike,
    expiry_ts: int,
    strike: float,
    is_call: bool,
    params: ChainParams,
) -> FloatArray:
    """Model mid prices of one held contract along arrays of underlying ticks (spot in quote
    currency, `ts` UTC ms), vectorised. At or after the expiry moment the mark is the intrinsic
    value at that tick's spot; settling the position is the account's business."""
    years = np.maximum(expiry_ts - np.asarray(ts, dtype=np.int64), 0) / MS_PER_YEAR
    iv = implied_vol_surface(underlying, spot, strike, years, params)
    return option_price(spot, strike, years, params.rate, iv, is_call, params.dividend)


def quoted_chain(
    underlying: str,
    spot: float,
    ts_ms: int,
    contracts: Sequence[str],
    bid: ArrayLike,
    ask: ArrayLike,
    params: ChainParams,
) -> Chain:
    """A chain from market quotes (`market.options`) instead of the model's.

    Each contract's vol is implied from its quote's mid at `spot`; where the mid implies none
    (outside the no-arbitrage bounds, or deep in the money with no time value left) the model
    surface's vol stands in, so every contract has Greeks. `price` is the quote's mid.
    Contracts expired at `ts_ms` are left out; the order is `synthesize_chain`'s.
    """
    # contract_terms caches the parse; a symbol it refuses is parsed again for the error.
    terms = [contract_terms(contract) or parse_occ_symbol(contract) for contract in contracts]
    expiry_ts = np.array([expiry_ts_ms(t[1], params) for t in terms], dtype=np.int64)
    strike = np.array([t[3] for t in terms], dtype=np.float64)
    is_call = np.array([t[2] for t in terms], dtype=bool)
    order = np.lexsort((~is_call, strike, expiry_ts))
    order = order[expiry_ts[order] > ts_ms]
    expiry_ts, strike, is_call = expiry_ts[order], strike[order], is_call[order]
    bid_ = np.asarray(bid, dtype=np.float64)[order]
    ask_ = np.asarray(ask, dtype=np.float64)[order]
    mid = mid_price(bid_, ask_)
    years = (expiry_ts - ts_ms) / MS_PER_YEAR
    implied = implied_volatility(mid, spot, strike, years, params.rate, is_call, params.dividend)
    model = implied_vol_surface(underlying, spot, strike, years, params)
    iv = np.where(np.isnan(implied.iv), model, implied.iv)
    greeks = black_scholes(spot, strike, years, params.rate, iv, is_call, params.dividend)
    return _frozen_chain(
        underlying,
        ts_ms,
        spot,
        tuple(contracts[i] for i in order),
        expiry=np.array([terms[i][1] for i in order], dtype="datetime64[D]"),
        expiry_ts=expiry_ts,
        strike=strike,
        is_call=is_call,
        years=years,
        iv=iv,
        bid=bid_,
        ask=ask_,
        greeks=greeks._replace(price=mid),
    )


def chains_in(
    underlying: str,
    quote_rows: NDArray[np.intp],
    contracts: Sequence[str],
    spot_rows: NDArray[np.intp],
    columns: tuple[NDArray[np.int64], FloatArray, FloatArray, FloatArray],
    spot_before: float | None,
    params: ChainParams,
) -> list[tuple[NDArray[np.intp], Chain]]:
    """The quoted chains among rows of time-ordered quotes, each with its rows.

    `quote_rows` are the underlying's option quotes (`contracts` names each) and `spot_rows`
    its own ticks, both ascending positions into `columns` = (ts, bid, ask, mid). A chain is the
    quotes of one event time, as the feed sends them; it is priced at the mid of the last tick
    before it, or at `spot_before` (the mid before these rows), and left out while no spot is
    known.
    """
    ts, bid, ask, mid = columns
    times = ts[quote_rows]
    starts = np.flatnonzero(np.concatenate([[True], times[1:] != times[:-1]]))
    found = []
    for start, stop in zip(starts.tolist(), [*starts[1:].tolist(), len(quote_rows)], strict=True):
        rows = quote_rows[start:stop]
        before = int(np.searchsorted(spot_rows, rows[0])) - 1
        spot = float(mid[spot_rows[before]]) if before >= 0 else spot_before
        if spot is None or not math.isfinite(spot):
            continue
        chain = quoted_chain(
            underlying, spot, int(times[start]), contracts[start:stop], bid[rows], ask[rows], params
        )
        found.append((rows, chain))
    return found


def atm_vol(chain: Chain, days_to_expiry: float) -> float:
    """The chain's at-the-money implied vol at the expiry nearest `days_to_expiry`: the mean of
    its contracts' at the strike nearest the spot (NaN for an empty chain)."""
    if not len(chain):
        return math.nan
    days = chain.years * 365.0
    on = np.flatnonzero(days == days[np.argmin(np.abs(days - days_to_expiry))])
    strikes = chain.strike[on]
    nearest = strikes[np.argmin(np.abs(strikes - chain.spot))]
    return float(chain.iv[on[strikes == nearest]].mean())


@lru_cache(maxsize=65_536)
def contract_terms(symbol: str) -> tuple[str, date, bool, float] | None:
    """(underlying, expiry, is_call, strike) of an OCC contract symbol; None for a ticker.

    Tickers have at most 15 characters and contract symbols at least 16, so they never collide.
    """
    if len(symbol) < 16:
        return None
    try:
        return parse_occ_symbol(symbol)
    except ValueError:
        return None


_OCC = re.compile(
    r"^(?P<root>[A-Z][A-Z0-9.\-]{0,14})(?P<expiry>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
)
_SYMBOL = re.compile(SYMBOL_PATTERN)


def occ_symbol(underlying: str, expiry: date, is_call: bool, strike: float) -> str:
    """Compact OCC option symbol, root without padding: AAPL261218C00150000 is the AAPL
    2026-12-18 call struck at 150 (yymmdd, C or P, strike × 1000 as eight digits)."""
    if not _SYMBOL.match(underlying):
        raise ValueError(f"underlying {underlying!r} is not a ticker symbol")
    if not 2000 <= expiry.year <= 2099:
        raise ValueError(f"expiry {expiry} is outside 2000-2099, which yymmdd can express")
    thousandths = round(strike * 1000)
    if not 0 < thousandths < 100_000_000:
        raise ValueError(f"strike {strike!r} must be above 0 and below 100000")
    return f"{underlying}{expiry:%y%m%d}{'C' if is_call else 'P'}{thousandths:08d}"


def parse_occ_symbol(symbol: str) -> tuple[str, date, bool, float]:
    """(underlying, expiry, is_call, strike) of a compact OCC symbol; ValueError otherwise."""
    match = _OCC.match(symbol)
    if match is None:
        raise ValueError(f"{symbol!r} is not an OCC option symbol")
    yymmdd = match["expiry"]
    try:
        expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError as exc:
        raise ValueError(f"{symbol!r} is not an OCC option symbol: bad expiry date") from exc
    return match["root"], expiry, match["right"] == "C", int(match["strike"]) / 1000
