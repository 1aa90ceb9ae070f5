"""Synthetic option chains (flows.trading.chain)."""

from __future__ import annotations

import pickle
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flows.trading.chain import (
    MS_PER_DAY,
    Chain,
    ChainParams,
    ChainSample,
    base_vol,
    expiries,
    expiry_ts_ms,
    implied_vol_surface,
    mark_contract,
    occ_symbol,
    parse_occ_symbol,
    quote_contract,
    strike_grid,
    synthesize_chain,
)
from flows.trading.pricing import implied_volatility

PARAMS = ChainParams()
NEW_YORK = ZoneInfo("America/New_York")
INSTRUMENT = re.compile(r"^[A-Z][A-Z0-9.\-]{0,31}$")  # schemas.common.Instrument


def ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


# Wednesday 2026-11-25, 10:00 in New York.
TS = ms(datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK))
event_times = st.integers(
    ms(datetime(2001, 1, 1, tzinfo=UTC)), ms(datetime(2098, 1, 1, tzinfo=UTC))
)

ARRAYS = [
    "expiry",
    "expiry_ts",
    "strike",
    "is_call",
    "years",
    "iv",
    "price",
    "bid",
    "ask",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
]


def test_same_seed_and_event_time_give_identical_chains() -> None:
    first = synthesize_chain("AAPL", 231.37, TS, PARAMS)
    second = synthesize_chain("AAPL", 231.37, TS, ChainParams())
    for name in ARRAYS:
        a, b = getattr(first, name), getattr(second, name)
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes(), name
    assert first.contracts == second.contracts


def test_base_vol_is_a_stable_hash_of_seed_and_symbol_not_pythons_salted_hash() -> None:
    # Fixed forever: a replay on another machine or Python process must see the same surface.
    assert base_vol("AAPL", PARAMS) == 0.4152147050812375
    assert base_vol("AAPL", replace(PARAMS, seed=8)) != base_vol("AAPL", PARAMS)
    vols = [base_vol(symbol, PARAMS) for symbol in ("SPY", "QQQ", "MSFT", "TSLA", "BRK.B")]
    assert all(0.18 <= vol <= 0.45 for vol in vols)
    assert len(set(vols)) == len(vols)


def test_base_vol_overrides_win() -> None:
    params = replace(PARAMS, base_vols=(("SPY", 0.12),))
    assert base_vol("SPY", params) == 0.12
    assert base_vol("QQQ", params) == base_vol("QQQ", PARAMS)


@settings(deadline=None, max_examples=200)
@given(ts=event_times, weekly=st.integers(0, 6), monthly=st.integers(0, 4))
def test_expiries_are_fridays_strictly_after_the_event_time(
    ts: int, weekly: int, monthly: int
) -> None:
    assume(weekly + monthly > 0)
    params = replace(PARAMS, weekly_expiries=weekly, monthly_expiries=monthly)
    dates = expiries(ts, params)
    assert dates == sorted(set(dates))
    assert all(d.weekday() == 4 for d in dates)
    assert all(expiry_ts_ms(d, params) > ts for d in dates)
    assert max(weekly, monthly) <= len(dates) <= weekly + monthly
    thirds = [d for d in dates if 15 <= d.day <= 21]
    assert len(thirds) >= monthly
    if weekly:
        first = dates[0]
        assert expiry_ts_ms(first - timedelta(days=7), params) <= ts
        assert dates[:weekly] == [first + timedelta(days=7 * i) for i in range(weekly)]


def test_friday_at_the_close_rolls_to_next_week() -> None:
    friday = date(2026, 11, 27)
    before = ms(datetime.combine(friday, time(15, 59), NEW_YORK))
    at_close = ms(datetime.combine(friday, time(16, 0), NEW_YORK))
    assert expiries(before, PARAMS)[0] == friday
    assert expiries(at_close, PARAMS)[0] == friday + timedelta(days=7)


def test_expiries_on_the_day_before_thanksgiving() -> None:
    assert expiries(TS, PARAMS) == [
        date(2026, 11, 27),
        date(2026, 12, 4),
        date(2026, 12, 11),
        date(2026, 12, 18),
        date(2027, 1, 15),
        date(2027, 2, 19),
    ]


def test_expiry_moment_is_four_pm_new_york_across_daylight_saving() -> None:
    assert expiry_ts_ms(date(2027, 1, 15), PARAMS) == ms(datetime(2027, 1, 15, 21, tzinfo=UTC))
    assert expiry_ts_ms(date(2027, 7, 16), PARAMS) == ms(datetime(2027, 7, 16, 20, tzinfo=UTC))


@pytest.mark.parametrize(
    ("spot", "increment", "at_the_money"),
    [(12.3, 0.5, 12.5), (48.6, 1.0, 49.0), (231.37, 2.5, 232.5), (612.0, 5.0, 610.0)],
)
def test_strike_grid_uses_the_listed_increment_for_the_price_level(
    spot: float, increment: float, at_the_money: float
) -> None:
    grid = strike_grid(spot, 10)
    assert grid.size == 21
    assert grid[10] == at_the_money
    np.testing.assert_allclose(np.diff(grid), increment)


def test_strike_grid_of_a_penny_stock_keeps_only_positive_strikes() -> None:
    grid = strike_grid(2.1, 10)
    assert grid.min() > 0
    assert grid.tolist() == [0.5, 1.0, 1.5, 2.0, *[2.0 + 0.5 * i for i in range(1, 11)]]


def test_strike_grid_refuses_a_non_positive_spot() -> None:
    with pytest.raises(ValueError, match="spot"):
        strike_grid(0.0, 10)


@settings(deadline=None, max_examples=40)
@given(
    spot=st.floats(0.5, 5000.0),
    ts=event_times,
    symbol=st.sampled_from(["AAPL", "SPY", "BRK.B", "F"]),
)
def test_chain_quotes_are_ordered_finite_and_on_the_cent(spot: float, ts: int, symbol: str) -> None:
    chain = synthesize_chain(symbol, spot, ts, PARAMS)
    assert len(chain) == len(set(chain.contracts)) == chain.strike.size
    for name in ARRAYS[4:]:
        assert np.isfinite(getattr(chain, name)).all(), name
    assert (chain.bid >= 0).all()
    assert (chain.ask > 0).all()
    assert (chain.ask >= chain.bid + 0.01 - 1e-9).all()
    assert (chain.bid <= chain.price).all()
    assert (chain.price <= chain.ask).all()
    for quotes in (chain.bid, chain.ask):
        np.testing.assert_array_equal(quotes, np.round(quotes, 2))
    assert (chain.expiry_ts > ts).all()
    assert (chain.years > 0).all()
    assert (chain.iv >= PARAMS.min_vol).all()


def test_chain_is_every_expiry_by_strike_by_call_and_put() -> None:
    chain = synthesize_chain("AAPL", 231.37, TS, PARAMS)
    dates = expiries(TS, PARAMS)
    strikes = strike_grid(231.37, PARAMS.strikes_each_side)
    assert len(chain) == len(dates) * strikes.size * 2
    assert chain.is_call[::2].all()
    assert not chain.is_call[1::2].any()
    np.testing.assert_array_equal(chain.strike[: 2 * strikes.size : 2], strikes)
    assert chain.contracts[0] == "AAPL261127C00207500"
    assert chain.contracts[1] == "AAPL261127P00207500"
    assert chain.expiry[0] == np.datetime64("2026-11-27")
    assert not chain.strike.flags.writeable


def test_chain_prices_imply_back_the_surface() -> None:
    chain = synthesize_chain("AAPL", 231.37, TS, PARAMS)
    result = implied_volatility(
        chain.price, 231.37, chain.strike, chain.years, PARAMS.rate, chain.is_call, PARAMS.dividend
    )
    ok = result.reason == 0
    assert ok.mean() > 0.9  # far in-the-money weeklies have no time value left to imply from
    np.testing.assert_allclose(result.iv[ok], chain.iv[ok], atol=1e-8)


def test_negative_skew_makes_out_of_the_money_puts_richer_than_calls() -> None:
    years = np.array([7, 30, 90, 365]) / 365
    forward = 100 * np.exp((PARAMS.rate - PARAMS.dividend) * years)
    put_wing = implied_vol_surface("SPY", 100.0, forward * np.exp(-0.1), years, PARAMS)
    call_wing = implied_vol_surface("SPY", 100.0, forward * np.exp(0.1), years, PARAMS)
    at_the_money = implied_vol_surface("SPY", 100.0, forward, years, PARAMS)
    assert (put_wing > at_the_money).all()
    assert (put_wing > call_wing).all()
    flat_skew = replace(PARAMS, skew=0.0)
    smile_up = implied_vol_surface("SPY", 100.0, forward * np.exp(0.1), years, flat_skew)
    smile_down = implied_vol_surface("SPY", 100.0, forward * np.exp(-0.1), years, flat_skew)
    np.testing.assert_allclose(smile_up, smile_down)
    assert (smile_up > at_the_money).all()
    assert np.all(np.diff(at_the_money) > 0)  # upward-sloping term structure by default


def test_spreads_widen_for_short_dated_contracts_and_far_wings() -> None:
    spot = 100.0
    week = TS + 6 * MS_PER_DAY
    quarter = TS + 90 * MS_PER_DAY
    expiring = TS + MS_PER_DAY // 2

    def relative_spread(expiry_ts: int, strike: float, is_call: bool) -> float:
        bid, ask, mid, _ = quote_contract("SPY", spot, TS, expiry_ts, strike, is_call, PARAMS)
        return (ask - bid) / max(mid, 0.01)

    assert relative_spread(expiring, 100.0, True) > relative_spread(quarter, 100.0, True)
    assert relative_spread(week, 100.0, True) > relative_spread(quarter, 100.0, True)
    assert relative_spread(quarter, 80.0, False) > relative_spread(quarter, 100.0, False)
    assert relative_spread(quarter, 120.0, True) > relative_spread(quarter, 100.0, True)


def test_quote_contract_quotes_exactly_what_the_chain_shows() -> None:
    chain = synthesize_chain("AAPL", 231.37, TS, PARAMS)
    for i in (0, 7, 101, len(chain) - 1):
        bid, ask, mid, greeks = quote_contract(
            "AAPL",
            231.37,
            TS,
            int(chain.expiry_ts[i]),
            float(chain.strike[i]),
            bool(chain.is_call[i]),
            PARAMS,
        )
        assert (bid, ask, mid) == (chain.bid[i], chain.ask[i], chain.price[i])
        assert float(greeks.delta) == chain.delta[i]
        assert float(greeks.vega) == chain.vega[i]


def test_mark_contract_follows_the_chain_and_settles_at_intrinsic_after_expiry() -> None:
    chain = synthesize_chain("AAPL", 231.37, TS, PARAMS)
    i = 9  # a put of the first expiry
    expiry_ts, strike, is_call = int(chain.expiry_ts[i]), float(chain.strike[i]), False
    assert not chain.is_call[i]
    spots = np.array([231.37, 225.0, 240.0, 220.0, 250.0])
    times = np.array([TS, TS + 60_000, expiry_ts - 1, expiry_ts, expiry_ts + 3_600_000])
    marks = mark_contract("AAPL", spots, times, expiry_ts, strike, is_call, PARAMS)
    # The mark (option_price along ticks) and the chain (black_scholes, quote_contract) are
    # different code paths: they agree to rounding, not bit for bit.
    assert marks[0] == pytest.approx(chain.price[i], rel=1e-12)
    _, _, mid, _ = quote_contract("AAPL", 225.0, TS + 60_000, expiry_ts, strike, is_call, PARAMS)
    assert marks[1] == pytest.approx(mid, rel=1e-12)
    assert marks[3] == pytest.approx(max(strike - 220.0, 0.0), rel=1e-12)
    assert marks[4] == pytest.approx(max(strike - 250.0, 0.0), abs=1e-12)


def test_occ_symbol_of_a_known_contract() -> None:
    assert occ_symbol("AAPL", date(2026, 12, 18), True, 150.0) == "AAPL261218C00150000"
    assert occ_symbol("BRK.B", date(2027, 1, 15), False, 412.5) == "BRK.B270115P00412500"
    assert parse_occ_symbol("AAPL261218C00150000") == ("AAPL", date(2026, 12, 18), True, 150.0)


@settings(deadline=None, max_examples=100)
@given(
    underlying=st.from_regex(r"[A-Z][A-Z0-9.\-]{0,14}", fullmatch=True),
    expiry=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    is_call=st.booleans(),
    thousandths=st.integers(1, 99_999_999),
)
def test_occ_symbols_round_trip_and_are_valid_instruments(
    underlying: str, expiry: date, is_call: bool, thousandths: int
) -> None:
    strike = thousandths / 1000
    symbol = occ_symbol(underlying, expiry, is_call, strike)
    assert INSTRUMENT.match(symbol)
    assert parse_occ_symbol(symbol) == (underlying, expiry, is_call, strike)


@pytest.mark.parametrize(
    ("underlying", "expiry", "strike", "problem"),
    [
        ("AAPL", date(2026, 12, 18), 0.0, "strike"),
        ("AAPL", date(2026, 12, 18), 100_000.0, "strike"),
        ("aapl", date(2026, 12, 18), 150.0, "underlying"),
        ("AAPL", date(2100, 1, 15), 150.0, "expiry"),
    ],
)
def test_occ_symbol_refuses_what_it_cannot_encode(
    underlying: str, expiry: date, strike: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        occ_symbol(underlying, expiry, True, strike)


@pytest.mark.parametrize("symbol", ["AAPL", "AAPL261318C00150000", "AAPL261218X00150000", ""])
def test_parse_occ_symbol_refuses_what_is_not_one(symbol: str) -> None:
    with pytest.raises(ValueError, match="not an OCC option symbol"):
        parse_occ_symbol(symbol)


def test_chain_params_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one expiry"):
        ChainParams(weekly_expiries=0, monthly_expiries=0)
    with pytest.raises(ValueError, match="base vols"):
        ChainParams(base_vols=(("SPY", -0.1),))
    with pytest.raises(ValueError, match="time zone"):
        ChainParams(timezone="Mars/Olympus_Mons")


def test_a_chain_is_a_frozen_value() -> None:
    chain = synthesize_chain("AAPL", 231.37, TS, PARAMS)
    assert isinstance(chain, Chain)
    with pytest.raises(AttributeError):
        chain.spot = 1.0  # type: ignore[misc]


def test_a_chain_sample_pickles_for_bytewax_recovery_and_exchange() -> None:
    sample = ChainSample(3, 42, synthesize_chain("AAPL", 231.37, TS, PARAMS))
    restored = pickle.loads(pickle.dumps(sample))
    assert (restored.partition, restored.offset) == (3, 42)
    assert restored.chain.contracts == sample.chain.contracts
    assert np.array_equal(restored.chain.price, sample.chain.price)
