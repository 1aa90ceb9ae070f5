"""Black-Scholes-Merton prices, Greeks and implied volatility (flows.trading.pricing)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flows.trading.pricing import (
    IV_ABOVE_UPPER_BOUND,
    IV_BELOW_INTRINSIC,
    IV_EXPIRED,
    IV_INVALID_INPUT,
    IV_NON_POSITIVE_PRICE,
    IV_OK,
    IV_REASONS,
    IV_VEGA_NEGLIGIBLE,
    Greeks,
    black_scholes,
    greeks_one,
    implied_vol_one,
    implied_volatility,
    option_price,
)

BATCH = 64


def batch(low: float, high: float) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, BATCH, elements=st.floats(low, high))


def log_uniform_batch(low: float, high: float) -> st.SearchStrategy[np.ndarray]:
    return batch(math.log(low), math.log(high)).map(np.exp)


calls = hnp.arrays(np.bool_, BATCH, elements=st.booleans())


def assert_within(actual: np.ndarray, expected: np.ndarray, tolerance: np.ndarray | float) -> None:
    """|actual - expected| <= tolerance everywhere; the message shows the worst offender."""
    excess = np.abs(actual - expected) - tolerance
    worst = int(np.argmax(excess))
    assert excess[worst] <= 0, (
        f"at {worst}: {actual[worst]!r} vs {expected[worst]!r}, "
        f"tolerance {np.broadcast_to(tolerance, excess.shape)[worst]!r}"
    )


# Hull, Options, Futures and Other Derivatives, example 17.x: S=49, K=50, r=5 %, σ=20 %, T=0.3846.
def test_hull_example_call_matches_the_textbook() -> None:
    g = greeks_one(49.0, 50.0, 0.3846, 0.05, 0.20, "call")
    assert g["price"] == pytest.approx(2.40, abs=0.005)
    assert g["delta"] == pytest.approx(0.522, abs=0.0005)
    assert g["gamma"] == pytest.approx(0.066, abs=0.0005)
    assert g["vega"] == pytest.approx(12.1, abs=0.05)
    assert g["theta"] == pytest.approx(-4.31, abs=0.01)
    assert g["rho"] == pytest.approx(8.91, abs=0.01)
    assert g["vega_1pct"] == pytest.approx(g["vega"] / 100)
    assert g["theta_day"] == pytest.approx(g["theta"] / 365)


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        # QuantLib 1.44 AnalyticEuropeanEngine, Actual365Fixed, flat continuous curves.
        (
            (49.0, 50.0, 146 / 365, 0.05, 0.20, True, 0.0),
            (
                2.4663092225340777,
                0.524576437946571,
                0.0642434514501686,
                12.33988215454838,
                -4.24686735047949,
                9.295174494739163,
            ),
        ),
        (
            (100.0, 95.0, 73 / 365, 0.03, 0.35, False, 0.02),
            (
                3.814017363011355,
                -0.33635469301440246,
                0.02325489700167363,
                16.27842790117155,
                -13.792849199620312,
                -7.48989733289032,
            ),
        ),
    ],
)
def test_matches_quantlib_to_twelve_digits(
    contract: tuple[float, ...], expected: tuple[float, ...]
) -> None:
    spot, strike, years, rate, vol, is_call, dividend = contract
    got = black_scholes(spot, strike, years, rate, vol, bool(is_call), dividend)
    for name, value, reference in zip(Greeks._fields, got, expected, strict=True):
        assert float(value) == pytest.approx(reference, rel=1e-12), name


@settings(deadline=None, max_examples=60)
@given(
    spot=log_uniform_batch(0.5, 5000.0),
    moneyness=batch(-1.5, 1.5),
    years=log_uniform_batch(1e-4, 10.0),
    vol=log_uniform_batch(0.01, 3.0),
    rate=batch(-0.05, 0.2),
    dividend=batch(0.0, 0.15),
)
def test_put_call_parity_holds_for_random_contracts(
    spot: np.ndarray,
    moneyness: np.ndarray,
    years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    dividend: np.ndarray,
) -> None:
    strike = spot * np.exp(moneyness)
    call = black_scholes(spot, strike, years, rate, vol, True, dividend)
    put = black_scholes(spot, strike, years, rate, vol, False, dividend)
    spot_pv = spot * np.exp(-dividend * years)
    strike_pv = strike * np.exp(-rate * years)
    scale = spot_pv + strike_pv
    assert_within(call.price - put.price, spot_pv - strike_pv, 1e-14 * scale)
    assert_within(call.delta - put.delta, np.exp(-dividend * years), 1e-14)
    np.testing.assert_array_equal(call.gamma, put.gamma)
    np.testing.assert_array_equal(call.vega, put.vega)
    # Each theta carries the rounding of its own (possibly large) time-decay term.
    decay = np.abs(call.theta) + np.abs(put.theta)
    assert_within(
        call.theta - put.theta, dividend * spot_pv - rate * strike_pv, 1e-14 * (scale + decay)
    )
    assert_within(call.rho - put.rho, years * strike_pv, 1e-14 * years * scale)


def _central(f_up: np.ndarray, f_down: np.ndarray, step: np.ndarray) -> np.ndarray:
    result: np.ndarray = (f_up - f_down) / (2 * step)
    return result


@settings(deadline=None, max_examples=60)
@given(
    spot=log_uniform_batch(1.0, 2000.0),
    moneyness=batch(-1.0, 1.0),
    years=log_uniform_batch(1.0 / (365 * 24), 5.0),
    vol=log_uniform_batch(0.02, 2.0),
    rate=batch(-0.02, 0.15),
    dividend=batch(0.0, 0.1),
    is_call=calls,
)
def test_every_greek_matches_central_finite_differences(
    spot: np.ndarray,
    moneyness: np.ndarray,
    years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    dividend: np.ndarray,
    is_call: np.ndarray,
) -> None:
    strike = spot * np.exp(moneyness)
    g = black_scholes(spot, strike, years, rate, vol, is_call, dividend)

    def price(**bumped: np.ndarray) -> np.ndarray:
        args = {"spot": spot, "years": years, "rate": rate, "vol": vol} | bumped
        return option_price(
            args["spot"], strike, args["years"], args["rate"], args["vol"], is_call, dividend
        )

    # Steps scaled to each contract's own total volatility, so the truncation error is about
    # 1e-8 of each Greek's natural size whether the contract has an hour or five years left.
    total_vol = vol * np.sqrt(years)
    h_spot = 1e-4 * spot * total_vol
    h_vol = 1e-4 * vol
    h_years = 1e-4 * years
    h_rate = 1e-4 * total_vol / years
    delta_fd = _central(price(spot=spot + h_spot), price(spot=spot - h_spot), h_spot)
    up = black_scholes(spot + h_spot, strike, years, rate, vol, is_call, dividend)
    down = black_scholes(spot - h_spot, strike, years, rate, vol, is_call, dividend)
    gamma_fd = _central(up.delta, down.delta, h_spot)
    vega_fd = _central(price(vol=vol + h_vol), price(vol=vol - h_vol), h_vol)
    theta_fd = -_central(price(years=years + h_years), price(years=years - h_years), h_years)
    rho_fd = _central(price(rate=rate + h_rate), price(rate=rate - h_rate), h_rate)

    # Natural sizes: delta ~ 1, gamma ~ 1/(S·σ√T), vega ~ S·√T, theta ~ value/T, rho ~ K·T.
    value = spot + strike
    tolerance = 1e-6
    assert_within(delta_fd, g.delta, tolerance)
    assert_within(gamma_fd, g.gamma, tolerance / (spot * total_vol))
    assert_within(vega_fd, g.vega, tolerance * spot * np.sqrt(years))
    assert_within(theta_fd, g.theta, tolerance * value * (total_vol / years + 0.2))
    assert_within(rho_fd, g.rho, tolerance * strike * years)


@settings(deadline=None, max_examples=80)
@given(
    spot=log_uniform_batch(0.5, 5000.0),
    moneyness=batch(-3.0, 3.0),
    years=log_uniform_batch(1e-5, 10.0),
    vol=log_uniform_batch(0.005, 5.0),
    rate=batch(-0.05, 0.2),
    dividend=batch(0.0, 0.15),
    is_call=calls,
)
def test_implied_vol_round_trips_to_1e_8_wherever_vega_is_not_negligible(
    spot: np.ndarray,
    moneyness: np.ndarray,
    years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    dividend: np.ndarray,
    is_call: np.ndarray,
) -> None:
    strike = spot * np.exp(moneyness)
    g = black_scholes(spot, strike, years, rate, vol, is_call, dividend)
    result = implied_volatility(g.price, spot, strike, years, rate, is_call, dividend)
    ok = result.reason == IV_OK

    # Every implied vol returned is right, and reprices the quote.
    assert np.all(np.abs(result.iv[ok] - vol[ok]) <= 1e-8)
    scale = spot * np.exp(-dividend * years) + strike * np.exp(-rate * years)
    repriced = option_price(spot, strike, years, rate, result.iv, is_call, dividend)
    assert np.all(np.abs(repriced[ok] - g.price[ok]) <= 1e-13 * scale[ok])
    assert np.all(np.isnan(result.iv[~ok]))

    # Where a few ulps of price error move vol by less than 1e-9, an answer is owed. Elsewhere
    # the price carries (almost) no volatility information and only the honest reasons occur.
    with np.errstate(divide="ignore"):
        vol_resolution = 3e-15 * scale / g.vega
    well_determined = vol_resolution <= 1e-9
    assert np.all(ok[well_determined])
    no_information = {IV_OK, IV_NON_POSITIVE_PRICE, IV_BELOW_INTRINSIC, IV_VEGA_NEGLIGIBLE}
    assert set(np.unique(result.reason).tolist()) <= no_information | {IV_ABOVE_UPPER_BOUND}


def test_implied_vol_on_a_grid_of_extremes_is_right_or_says_why_not() -> None:
    # From at the money to six log-units out, an hour-fraction to 30 years, 0.1 % to 1000 % vol.
    moneyness = sorted({sign * m for m in (0, 1e-12, 1e-6, 0.01, 0.1, 1, 3, 6) for sign in (-1, 1)})
    years = [1e-8, 1e-6, 1e-4, 0.01, 1.0, 30.0]
    vols = [0.001, 0.01, 0.1, 1.0, 5.0, 10.0]
    grid = np.array(list(itertools.product(moneyness, years, vols, [0.0, 0.1], [1.0, 0.0])))
    log_moneyness, t, vol, rate, call = grid.T
    strike, is_call = 100.0 * np.exp(log_moneyness), call.astype(bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        price = option_price(100.0, strike, t, rate, vol, is_call)
        result = implied_volatility(price, 100.0, strike, t, rate, is_call)
    ok = result.reason == IV_OK
    assert ok.sum() > 0.4 * ok.size
    assert np.max(np.abs(result.iv[ok] - vol[ok])) <= 1e-8
    assert set(np.unique(result.reason[~ok]).tolist()) <= {
        IV_NON_POSITIVE_PRICE,
        IV_BELOW_INTRINSIC,
        IV_ABOVE_UPPER_BOUND,
        IV_VEGA_NEGLIGIBLE,
    }


def test_implied_vol_recovers_a_typical_book_exactly() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    spot = rng.uniform(20, 500, n)
    strike = spot * np.exp(rng.normal(0, 0.15, n))
    years = rng.integers(1, 730, n) / 365
    vol = rng.uniform(0.08, 1.2, n)
    rate = rng.uniform(0.0, 0.06, n)
    dividend = rng.uniform(0.0, 0.03, n)
    is_call = rng.random(n) < 0.5
    price = option_price(spot, strike, years, rate, vol, is_call, dividend)
    result = implied_volatility(price, spot, strike, years, rate, is_call, dividend)
    ok = result.reason == IV_OK
    assert ok.mean() > 0.995
    assert np.max(np.abs(result.iv[ok] - vol[ok])) <= 1e-8


@pytest.mark.parametrize(
    ("price", "spot", "strike", "years", "is_call", "reason"),
    [
        (21.9, 100.0, 80.0, 0.5, True, IV_BELOW_INTRINSIC),  # intrinsic 100 - 80e^-0.025
        (100.0 - 80.0 * math.exp(-0.025), 100.0, 80.0, 0.5, True, IV_BELOW_INTRINSIC),
        (3.0, 80.0, 100.0, 0.5, False, IV_BELOW_INTRINSIC),  # put intrinsic 100e^-0.025 - 80
        (100.0, 100.0, 80.0, 0.5, True, IV_ABOVE_UPPER_BOUND),  # a call is worth less than S
        (99.0, 120.0, 100.0, 0.5, False, IV_ABOVE_UPPER_BOUND),  # a put: less than Ke^-rT
        (2.0, 100.0, 100.0, 0.0, True, IV_EXPIRED),
        (2.0, 100.0, 100.0, -0.1, True, IV_EXPIRED),
        (0.0, 100.0, 100.0, 0.5, True, IV_NON_POSITIVE_PRICE),
        (-1.0, 100.0, 100.0, 0.5, False, IV_NON_POSITIVE_PRICE),
        (math.nan, 100.0, 100.0, 0.5, True, IV_INVALID_INPUT),
        (2.0, 0.0, 100.0, 0.5, True, IV_INVALID_INPUT),
        (2.0, 100.0, math.inf, 0.5, True, IV_INVALID_INPUT),
        # A deep in-the-money call a billionth above intrinsic value: the price says nothing
        # about volatility that survives its own rounding.
        (100.0 - 50.0 * math.exp(-0.005) + 1e-9, 100.0, 50.0, 0.1, True, IV_VEGA_NEGLIGIBLE),
        # An at-the-money call priced within 1e-13 of the spot: a vol of about 16, unknowable.
        (100.0 * (1 - 1e-13), 100.0, 100.0, 1.0, True, IV_VEGA_NEGLIGIBLE),
    ],
)
def test_prices_without_an_implied_vol_give_nan_and_the_reason(
    price: float, spot: float, strike: float, years: float, is_call: bool, reason: int
) -> None:
    rate = 0.05
    result = implied_volatility(price, spot, strike, years, rate, is_call)
    assert int(result.reason) == reason
    assert math.isnan(float(result.iv))
    right = "call" if is_call else "put"
    assert implied_vol_one(price, spot, strike, years, rate, right) == (None, IV_REASONS[reason])


def test_implied_vol_one_returns_the_vol_without_a_reason() -> None:
    vol, reason = implied_vol_one(2.4004610869656666, 49.0, 50.0, 0.3846, 0.05, "call")
    assert reason is None
    assert vol == pytest.approx(0.20, abs=1e-12)


def test_expiry_is_worth_intrinsic_with_a_step_delta_and_no_other_greeks() -> None:
    spot = np.array([110.0, 90.0, 100.0, 110.0, 90.0, 100.0])
    is_call = np.array([True, True, True, False, False, False])
    g = black_scholes(spot, 100.0, 0.0, 0.05, 0.3, is_call, 0.02)
    np.testing.assert_array_equal(g.price, [10.0, 0.0, 0.0, 0.0, 10.0, 0.0])
    np.testing.assert_array_equal(g.delta, [1.0, 0.0, 0.5, 0.0, -1.0, -0.5])
    for greek in (g.gamma, g.vega, g.theta, g.rho):
        np.testing.assert_array_equal(greek, 0.0)
    assert not np.signbit(g.price).any()


def test_zero_vol_is_worth_the_discounted_forward_intrinsic() -> None:
    spot, strike, years, rate, dividend = 100.0, 100.0, 0.5, 0.05, 0.01
    spot_pv = spot * math.exp(-dividend * years)
    strike_pv = strike * math.exp(-rate * years)
    call = black_scholes(spot, strike, years, rate, 0.0, True, dividend)
    put = black_scholes(spot, strike, years, rate, 0.0, False, dividend)
    assert float(call.price) == pytest.approx(spot_pv - strike_pv, rel=1e-15)
    assert float(put.price) == 0.0
    assert float(call.delta) == pytest.approx(math.exp(-dividend * years), rel=1e-15)
    assert float(call.theta) == pytest.approx(dividend * spot_pv - rate * strike_pv, rel=1e-14)
    assert float(call.rho) == pytest.approx(years * strike_pv, rel=1e-15)
    assert float(call.gamma) == float(call.vega) == 0.0
    # ... and the closed form tends to it as vol goes to zero.
    nearly = black_scholes(spot, strike, years, rate, 1e-6, True, dividend)
    assert float(nearly.price) == pytest.approx(float(call.price), rel=1e-9)


def test_negative_years_or_vol_are_not_options() -> None:
    g = black_scholes(100.0, 100.0, [-1.0, 1.0], 0.05, [0.2, -0.2], True)
    assert np.isnan(np.stack(g)).all()


SANE_EXTREMES = {
    "spot": [1e-8, 1.0, 1e8],
    "strike": [1e-8, 1.0, 1e8],
    "years": [0.0, 1e-12, 1.0 / (365 * 24 * 60), 1.0, 100.0],
    "vol": [0.0, 1e-12, 0.2, 10.0],
    "rate": [-0.5, 0.0, 0.5],
    "dividend": [0.0, 0.3],
}
ABSURD = [-1.0, 0.0, 1e-300, 1.0, 1e300, math.inf, -math.inf, math.nan]


def _grid(values: dict[str, list[float]]) -> dict[str, np.ndarray]:
    combos = np.array(list(itertools.product(*values.values())), dtype=np.float64)
    return {name: combos[:, i] for i, name in enumerate(values)}


@pytest.mark.parametrize("is_call", [True, False])
def test_extreme_but_valid_inputs_give_finite_numbers_and_no_warnings(is_call: bool) -> None:
    grid = _grid(SANE_EXTREMES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = black_scholes(**grid, is_call=is_call)
        price = option_price(**grid, is_call=is_call)
        result = implied_volatility(
            price,
            grid["spot"],
            grid["strike"],
            grid["years"],
            grid["rate"],
            is_call,
            grid["dividend"],
        )
    assert np.isfinite(np.stack(g)).all()
    assert (g.price >= 0).all()
    np.testing.assert_array_equal(price, g.price)
    assert np.all(np.isnan(result.iv) == (result.reason != IV_OK))


def test_absurd_inputs_raise_nothing_and_warn_nothing() -> None:
    names = ["price", "spot", "strike", "years", "rate", "vol", "dividend"]
    grid = _grid(dict.fromkeys(names, ABSURD[:5]) | {"vol": ABSURD, "spot": ABSURD})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        black_scholes(grid["spot"], grid["strike"], grid["years"], grid["rate"], grid["vol"], True)
        option_price(grid["spot"], grid["strike"], grid["years"], grid["rate"], grid["vol"], False)
        result = implied_volatility(
            grid["price"], grid["spot"], grid["strike"], grid["years"], grid["rate"], True
        )
    assert set(np.unique(result.reason).tolist()) <= set(IV_REASONS)


def test_a_chain_prices_in_one_broadcast_call() -> None:
    strikes = np.linspace(80, 120, 9)
    years = np.array([[7 / 365], [30 / 365], [90 / 365]])
    g = black_scholes(100.0, strikes, years, 0.04, 0.25, True)
    assert g.price.shape == (3, 9)
    one = black_scholes(100.0, strikes[4], years[1, 0], 0.04, 0.25, True)
    assert g.price[1, 4] == float(one.price)
    assert g.delta.shape == g.rho.shape == (3, 9)
    flags = black_scholes(100.0, 100.0, 0.5, 0.04, 0.25, np.array([True, False]))
    assert flags.price.shape == (2,)


def test_scalar_inputs_give_zero_dimensional_arrays() -> None:
    g = black_scholes(100.0, 100.0, 0.5, 0.04, 0.25, True)
    assert all(isinstance(x, np.ndarray) and x.shape == () for x in g)
    assert option_price(100.0, 100.0, 0.5, 0.04, 0.25, True).shape == ()
    assert implied_volatility(5.0, 100.0, 100.0, 0.5, 0.04, True).iv.shape == ()


def test_blocks_of_a_large_batch_agree_with_pricing_one_by_one() -> None:
    rng = np.random.default_rng(3)
    n = 20_000  # several cache blocks, with expired and zero-vol contracts on both sides of edges
    spot = rng.uniform(50, 150, n)
    strike = rng.uniform(50, 150, n)
    years = np.where(rng.random(n) < 0.01, 0.0, rng.uniform(0, 2, n))
    vol = np.where(rng.random(n) < 0.01, 0.0, rng.uniform(0.05, 1, n))
    is_call = rng.random(n) < 0.5
    g = black_scholes(spot, strike, years, 0.03, vol, is_call, 0.01)
    np.testing.assert_array_equal(
        option_price(spot, strike, years, 0.03, vol, is_call, 0.01), g.price
    )
    for i in rng.choice(n, 200, replace=False).tolist() + np.flatnonzero(years == 0)[:20].tolist():
        one = black_scholes(spot[i], strike[i], years[i], 0.03, vol[i], bool(is_call[i]), 0.01)
        for name, batch_value, single in zip(Greeks._fields, g, one, strict=True):
            assert batch_value[i] == float(single), name


def test_greeks_one_accepts_call_and_put_and_refuses_anything_else() -> None:
    call = greeks_one(100.0, 100.0, 0.5, 0.04, 0.25, "call")
    put = greeks_one(100.0, 100.0, 0.5, 0.04, 0.25, "P")
    assert set(call) == {*Greeks._fields, "vega_1pct", "theta_day"}
    assert call["delta"] > 0 > put["delta"]
    with pytest.raises(ValueError, match="right"):
        greeks_one(100.0, 100.0, 0.5, 0.04, 0.25, "straddle")
