"""Black-Scholes-Merton prices, Greeks and implied volatility, vectorised over numpy arrays.

Conventions (the textbook and QuantLib units):
- `spot` and `strike` in the quote currency per share; prices come back in the same unit, per
  share (multiply by the contract multiplier, usually 100, for a contract's value).
- `years` is ACT/365 calendar time to expiry: (expiry moment - now) / 365 days.
- `rate` and `dividend` are continuously compounded annual rates (0.05 = 5 %), `vol` is the
  annualised volatility (0.20 = 20 %).
- vega is per 1.00 of volatility, theta per year of calendar time (the change in value as
  time passes, so usually negative), rho per 1.00 of rate. Traders quote vega per volatility
  point, `vega / 100` (`vega_1pct`), and theta per calendar day, `theta / 365` (`theta_day`).

Every function broadcasts its arguments like a numpy ufunc, so a whole chain is one call. The
work runs in cache-sized blocks with preallocated scratch buffers: numpy evaluates one
operation at a time, and on arrays bigger than the CPU cache each of those passes would go to
main memory.

Edge cases are limits, not errors: at expiry (`years == 0`) an option is worth its intrinsic
value, delta is the 0/±1 step (±0.5 exactly at the strike, the midpoint of the step) and the
other Greeks are 0; with zero volatility it is worth its discounted intrinsic value on the
forward. Negative `years` or `vol`, and non-positive `spot` or `strike`, are not options: they
give NaN. No floating-point warning escapes these functions.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

FloatArray = NDArray[np.float64]

_BLOCK = 8192
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_EPS = float(np.finfo(np.float64).eps)


class Greeks(NamedTuple):
    """Model price and first-order sensitivities, numpy float64 arrays of the broadcast shape.

    price: per share, quote currency. delta: per 1.00 of spot. gamma: delta per 1.00 of spot.
    vega: per 1.00 of volatility (vega / 100 per vol point). theta: per year of calendar time
    (theta / 365 per day). rho: per 1.00 of the interest rate.
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray


class ImpliedVol(NamedTuple):
    """Implied volatilities (annualised; NaN where there is none) and why (`IV_REASONS`)."""

    iv: FloatArray
    reason: NDArray[np.int8]


IV_OK = 0
IV_NON_POSITIVE_PRICE = 1
IV_BELOW_INTRINSIC = 2
IV_ABOVE_UPPER_BOUND = 3
IV_EXPIRED = 4
IV_VEGA_NEGLIGIBLE = 5
IV_NO_CONVERGENCE = 6
IV_INVALID_INPUT = 7

# An implied vol is returned only if the price pins it down to this much (absolute, in vol):
# a rounding error of a few ulps in the price must not move it further.
IV_RESOLUTION = 1e-9

IV_REASONS: dict[int, str] = {
    IV_OK: "ok",
    IV_NON_POSITIVE_PRICE: "price is zero or negative",
    IV_BELOW_INTRINSIC: "price at or below the no-arbitrage lower bound (intrinsic value)",
    IV_ABOVE_UPPER_BOUND: (
        "price at or above the no-arbitrage upper bound (spot for a call, strike for a put, "
        "both discounted)"
    ),
    IV_EXPIRED: "option has expired (years <= 0)",
    IV_VEGA_NEGLIGIBLE: (
        f"vega negligible: the price does not determine volatility to {IV_RESOLUTION:g} "
        "at double precision"
    ),
    IV_NO_CONVERGENCE: "the solver did not converge",
    IV_INVALID_INPUT: (
        "invalid input: a number that is not finite (or overflows), or spot or strike not positive"
    ),
}

_Operand = float | FloatArray


class _Contracts(NamedTuple):
    """Option inputs, each a Python float (shared by all) or a flat float64 array."""

    spot: _Operand
    strike: _Operand
    years: _Operand
    rate: _Operand
    vol: _Operand
    dividend: _Operand

    def block(self, start: int, stop: int) -> _Contracts:
        return _Contracts(*(x[start:stop] if isinstance(x, np.ndarray) else x for x in self))

    def take(self, index: NDArray[np.intp]) -> _Contracts:
        return _Contracts(*(x[index] if isinstance(x, np.ndarray) else x for x in self))


def _contracts(
    is_call: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    dividend: ArrayLike,
) -> tuple[tuple[int, ...], _Contracts]:
    """Broadcast shape (with `is_call`'s) and the inputs as floats or flat arrays of that size.

    Scalars stay scalars so that a chain priced at one spot does not pay for a broadcast copy.
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (spot, strike, years, rate, vol, dividend)]
    shape = np.broadcast_shapes(np.shape(is_call), *(array.shape for array in arrays))
    operands: list[_Operand] = [
        float(array)
        if array.ndim == 0
        else np.ascontiguousarray(np.broadcast_to(array, shape)).reshape(-1)
        for array in arrays
    ]
    return shape, _Contracts(*operands)


def _take(operand: _Operand, index: NDArray[np.intp]) -> _Operand:
    return operand[index] if isinstance(operand, np.ndarray) else operand


def _call_flags(is_call: ArrayLike, shape: tuple[int, ...]) -> bool | NDArray[np.bool_]:
    flags = np.asarray(is_call, dtype=bool)
    if flags.ndim == 0:
        return bool(flags)
    return np.ascontiguousarray(np.broadcast_to(flags, shape)).reshape(-1)


def _sign(flags: bool | NDArray[np.bool_], start: int, stop: int, row: FloatArray) -> _Operand:
    """+1.0 for calls and -1.0 for puts: every BSM formula is the call's with w·d in place of d.

    Converted a block at a time (into `row`), where it costs two cheap passes over cached data.
    """
    if isinstance(flags, bool):
        return 1.0 if flags else -1.0
    np.multiply(flags[start:stop], 2.0, out=row)
    np.subtract(row, 1.0, out=row)
    return row


def black_scholes(
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
    dividend: ArrayLike = 0.0,
) -> Greeks:
    """Price and Greeks of European options under Black-Scholes-Merton with a dividend yield.

    All arguments broadcast; units as in the module docstring. `is_call` is a bool or an array
    of bools (False = put). Returns float64 arrays of the broadcast shape (0-d for scalars).
    """
    shape, contracts = _contracts(is_call, spot, strike, years, rate, vol, dividend)
    flags = _call_flags(is_call, shape)
    size = math.prod(shape)
    out = Greeks(*(np.empty(size) for _ in Greeks._fields))
    scratch = np.empty((8, min(size, _BLOCK)))
    with np.errstate(all="ignore"):
        for start in range(0, size, _BLOCK):
            stop = min(start + _BLOCK, size)
            rows = scratch[:, : stop - start]
            sign = _sign(flags, start, stop, rows[7])
            views = Greeks(*(array[start:stop] for array in out))
            _greeks_block(contracts.block(start, stop), sign, views, rows[:7])
    return Greeks(*(array.reshape(shape) for array in out))


def _greeks_block(contracts: _Contracts, sign: _Operand, out: Greeks, scratch: FloatArray) -> None:
    spot, strike, years, rate, vol, dividend = contracts
    price, delta, gamma, vega, theta, rho = out
    root_t, total_vol, spot_leg, strike_leg, density, strike_pv, tmp = scratch
    has_dividend = isinstance(dividend, np.ndarray) or dividend != 0.0
    is_put_or_mixed = not (isinstance(sign, float) and sign == 1.0)
    # Output buffers double as scratch until their own value is written.
    disc_q, half_total_vol = price, rho

    np.sqrt(years, out=root_t)
    np.multiply(vol, root_t, out=total_vol)
    # min() is NaN-aware here: a NaN total vol fails the comparison and takes the slow path.
    degenerate = not total_vol.min() > 0.0
    np.multiply(total_vol, 0.5, out=half_total_vol)

    carry = tmp  # (r - q)·T, the log of the forward's drift
    if has_dividend:
        np.multiply(rate, years, out=strike_pv)
        np.multiply(dividend, years, out=disc_q)
        np.subtract(strike_pv, disc_q, out=carry)
        np.negative(disc_q, out=disc_q)
        np.exp(disc_q, out=disc_q)  # e^(-qT)
        np.negative(strike_pv, out=strike_pv)
    else:
        np.multiply(rate, years, out=carry)
        np.negative(carry, out=strike_pv)
    np.exp(strike_pv, out=strike_pv)
    np.multiply(strike_pv, strike, out=strike_pv)  # K·e^(-rT)

    d1, d2 = spot_leg, strike_leg  # the legs' buffers hold d1 and d2 until N(d) replaces them
    np.divide(spot, strike, out=d1)
    np.log(d1, out=d1)
    np.add(d1, carry, out=d1)
    np.divide(d1, total_vol, out=d1)
    np.add(d1, half_total_vol, out=d1)
    np.subtract(d1, total_vol, out=d2)
    np.multiply(d1, d1, out=density)
    np.multiply(density, -0.5, out=density)
    np.exp(density, out=density)
    np.multiply(density, _INV_SQRT_2PI, out=density)
    if is_put_or_mixed:
        np.multiply(d1, sign, out=d1)
        np.multiply(d2, sign, out=d2)
    n1 = ndtr(d1, out=d1)
    n2 = ndtr(d2, out=d2)

    # Put-call symmetry: with w = ±1, each leg is w·N(w·d) times its discounted amount, so
    # signing the two discount factors once signs price, delta, theta's drift and rho.
    if has_dividend:
        np.multiply(density, disc_q, out=density)
        if is_put_or_mixed:
            np.multiply(disc_q, sign, out=disc_q)
        np.multiply(n1, disc_q, out=delta)
    elif is_put_or_mixed:
        np.multiply(n1, sign, out=delta)
    else:
        np.copyto(delta, n1)
    if is_put_or_mixed:
        np.multiply(strike_pv, sign, out=strike_pv)
    np.multiply(spot, total_vol, out=tmp)
    np.divide(density, tmp, out=gamma)
    np.multiply(density, spot, out=density)  # S·e^(-qT)·n(d1)
    np.multiply(density, root_t, out=vega)
    np.multiply(density, half_total_vol, out=theta)
    np.divide(theta, years, out=theta)  # time decay S·e^(-qT)·n(d1)·σ / (2√T), positive

    spot_leg = np.multiply(delta, spot, out=spot_leg)  # w·S·e^(-qT)·N(w·d1)
    strike_leg = np.multiply(n2, strike_pv, out=strike_leg)  # w·K·e^(-rT)·N(w·d2)
    np.subtract(spot_leg, strike_leg, out=price)
    np.multiply(strike_leg, rate, out=tmp)
    if has_dividend:
        np.multiply(spot_leg, dividend, out=spot_leg)
        np.subtract(spot_leg, tmp, out=tmp)
    else:
        np.negative(tmp, out=tmp)
    np.subtract(tmp, theta, out=theta)
    np.multiply(strike_leg, years, out=rho)
    # Rounding can leave a price whose legs cancel a hair below zero, or at -0.0; prices are >= 0.
    np.maximum(price, 0.0, out=price)

    if degenerate:
        index = np.flatnonzero(~(total_vol > 0.0))
        _settle_degenerate(contracts.take(index), _take(sign, index), index, out)


def _settle_degenerate(
    contracts: _Contracts, sign: _Operand, index: NDArray[np.intp], out: Greeks
) -> None:
    """Zero total volatility: at expiry, or a deterministic forward. Negative inputs give NaN.

    `contracts` and `sign` are already taken at `index`, the positions to write in `out`.
    """
    spot, strike, years, rate, vol, dividend = contracts
    t = np.broadcast_to(years, index.shape)
    forward_moneyness = np.log(np.divide(spot, strike)) + np.multiply(
        np.subtract(rate, dividend), t
    )
    # The 0/1 step in N(w·d), with its midpoint exactly at the money (the limit as vol -> 0).
    step = np.sign(np.multiply(sign, forward_moneyness)) * 0.5 + 0.5
    disc_q = np.exp(-np.multiply(dividend, t))
    spot_leg = np.multiply(spot, disc_q) * step
    strike_leg = np.multiply(strike, np.exp(-np.multiply(rate, t))) * step
    drift = np.multiply(dividend, spot_leg) - np.multiply(rate, strike_leg)
    expired = t == 0.0
    valid = (t >= 0.0) & (np.broadcast_to(vol, index.shape) >= 0.0)
    settled = (
        np.multiply(sign, spot_leg - strike_leg),
        np.multiply(sign, disc_q * step),
        np.zeros(index.shape),
        np.zeros(index.shape),
        np.where(expired, 0.0, np.multiply(sign, drift)),
        np.multiply(sign, strike_leg * t),
    )
    for array, values in zip(out, settled, strict=True):
        array[index] = np.where(valid, values, np.nan) + 0.0  # + 0.0 turns -0.0 into 0.0


def option_price(
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
    dividend: ArrayLike = 0.0,
) -> FloatArray:
    """Black-Scholes-Merton price only (per share), the fast path for marking positions.

    Same arguments, units and edge cases as `black_scholes`; the result equals its `price`.
    """
    shape, contracts = _contracts(is_call, spot, strike, years, rate, vol, dividend)
    flags = _call_flags(is_call, shape)
    size = math.prod(shape)
    out = np.empty(size)
    scratch = np.empty((6, min(size, _BLOCK)))
    with np.errstate(all="ignore"):
        for start in range(0, size, _BLOCK):
            stop = min(start + _BLOCK, size)
            rows = scratch[:, : stop - start]
            sign = _sign(flags, start, stop, rows[5])
            _price_block(contracts.block(start, stop), sign, out[start:stop], rows[:5])
    return out.reshape(shape)


def _price_block(
    contracts: _Contracts, sign: _Operand, price: FloatArray, scratch: FloatArray
) -> None:
    # The same operations in the same order as _greeks_block, so both give identical prices.
    spot, strike, years, rate, vol, dividend = contracts
    total_vol, d1, d2, carry, strike_pv = scratch
    has_dividend = isinstance(dividend, np.ndarray) or dividend != 0.0
    is_put_or_mixed = not (isinstance(sign, float) and sign == 1.0)
    disc_q = price
    np.sqrt(years, out=total_vol)
    np.multiply(vol, total_vol, out=total_vol)
    degenerate = not total_vol.min() > 0.0
    if has_dividend:
        np.multiply(rate, years, out=strike_pv)
        np.multiply(dividend, years, out=disc_q)
        np.subtract(strike_pv, disc_q, out=carry)
        np.negative(disc_q, out=disc_q)
        np.exp(disc_q, out=disc_q)
        np.negative(strike_pv, out=strike_pv)
    else:
        np.multiply(rate, years, out=carry)
        np.negative(carry, out=strike_pv)
    np.exp(strike_pv, out=strike_pv)
    np.multiply(strike_pv, strike, out=strike_pv)
    np.divide(spot, strike, out=d1)
    np.log(d1, out=d1)
    np.add(d1, carry, out=d1)
    np.divide(d1, total_vol, out=d1)
    np.multiply(total_vol, 0.5, out=d2)
    np.add(d1, d2, out=d1)
    np.subtract(d1, total_vol, out=d2)
    if is_put_or_mixed:
        np.multiply(d1, sign, out=d1)
        np.multiply(d2, sign, out=d2)
    ndtr(d1, out=d1)
    ndtr(d2, out=d2)
    if has_dividend:
        np.multiply(d1, disc_q, out=d1)
    np.multiply(d1, spot, out=d1)
    np.multiply(d2, strike_pv, out=d2)
    np.subtract(d1, d2, out=price)
    if is_put_or_mixed:
        np.multiply(price, sign, out=price)
    np.maximum(price, 0.0, out=price)
    if degenerate:
        index = np.flatnonzero(~(total_vol > 0.0))
        settled = Greeks(*(np.empty(index.size) for _ in Greeks._fields))
        _settle_degenerate(
            contracts.take(index), _take(sign, index), np.arange(index.size), settled
        )
        price[index] = settled.price


# ---------------------------------------------------------------------------------------------
# Implied volatility
#
# The solver works on Jäckel's normalised Black price of an out-of-the-money call,
#     b(x, s) = e^(x/2)·N(x/s + s/2) - e^(-x/2)·N(x/s - s/2),   x = ln(F/K) <= 0,
# with s = vol·√years the total volatility and b the price divided by √(F·K)·e^(-rT). An
# in-the-money option has the time value of the out-of-the-money one at the same strike, and a
# put at x is a call at -x, so every input reduces to this one monotone function of s.
# Following Jäckel ("By Implication", 2006), b is convex below the inflection point
# s_c = √(2|x|) and concave above it; the tangent there splits s into three regions, each with
# a matched initial guess and an objective that is nearly linear in s there:
#   lower:  1/ln b(s) - 1/ln β        (b is exponentially small)
#   middle: b(s) - β
#   upper:  ln(b_max - β) - ln(b_max - b(s))   (b is close to its bound b_max = e^(x/2))
# Halley steps on these converge in two or three evaluations; a bracket that every evaluation
# tightens turns a step that leaves it into bisection, so the iteration cannot diverge.
# ---------------------------------------------------------------------------------------------

_LOWER, _MIDDLE, _UPPER = 0, 1, 2
_MAX_ITERATIONS = 60
_STEP_TOLERANCE = 1e-7  # relative; a Halley step this small leaves an error of order 1e-21
_ROUNDING = 4.0 * _EPS  # the relative error of a price (input, or evaluated) in this model
# Normalised prices this small are near or below the subnormal range, where the relative
# precision of a float, and of N(d) itself, is lost: treat them as this much absolute noise.
_UNDERFLOW = 1e-290


def _normalised_call(
    x: FloatArray, s: FloatArray, b_max: FloatArray, b_min: FloatArray
) -> FloatArray:
    """b(x, s), given b_max = e^(x/2) and b_min = e^(-x/2)."""
    h = x / s
    t = 0.5 * s
    result: FloatArray = b_max * ndtr(h + t) - b_min * ndtr(h - t)
    return result


def implied_volatility(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    is_call: ArrayLike,
    dividend: ArrayLike = 0.0,
) -> ImpliedVol:
    """Black-Scholes-Merton implied volatility of option prices (per share, quote currency).

    Arguments broadcast; units as in the module docstring. Returns `ImpliedVol(iv, reason)`:
    `iv` is annualised volatility, NaN where the price has none, and `reason` an int8 code of
    `IV_REASONS` (0 = ok). A price outside the no-arbitrage bounds, an expired option, invalid
    input, or a price that does not determine volatility to `IV_RESOLUTION` (vega negligible
    against the price's rounding error, e.g. deep in the money with no time value left) gives
    NaN with its reason: never an exception, never a number that does not reprice the input.
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (price, spot, strike, years, rate, dividend)]
    shape = np.broadcast_shapes(np.shape(is_call), *(array.shape for array in arrays))
    size = math.prod(shape)
    # The solver gathers subsets of every input, so each becomes a full flat array here.
    p, s, k, t, r, q = (np.broadcast_to(array, shape).reshape(-1) for array in arrays)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), shape).reshape(-1)
    iv = np.empty(size)
    reason = np.empty(size, dtype=np.int8)
    with np.errstate(all="ignore"):
        for start in range(0, size, _BLOCK):
            part = slice(start, min(start + _BLOCK, size))
            _implied_block(
                p[part],
                s[part],
                k[part],
                t[part],
                r[part],
                q[part],
                call[part],
                iv[part],
                reason[part],
            )
    return ImpliedVol(iv.reshape(shape), reason.reshape(shape))


def _implied_block(
    price: FloatArray,
    spot: FloatArray,
    strike: FloatArray,
    years: FloatArray,
    rate: FloatArray,
    dividend: FloatArray,
    call: NDArray[np.bool_],
    iv: FloatArray,
    reason: NDArray[np.int8],
) -> None:
    iv.fill(np.nan)
    finite = (
        np.isfinite(price)
        & np.isfinite(years)
        & np.isfinite(rate)
        & np.isfinite(dividend)
        & (spot > 0.0)
        & (spot < np.inf)
        & (strike > 0.0)
        & (strike < np.inf)
    )
    reason[:] = np.where(
        ~finite,
        IV_INVALID_INPUT,
        np.where(years <= 0.0, IV_EXPIRED, np.where(price <= 0.0, IV_NON_POSITIVE_PRICE, IV_OK)),
    )
    index = np.flatnonzero(reason == IV_OK)
    if index.size == 0:
        return
    p, s, k, t, r, q, c = (x[index] for x in (price, spot, strike, years, rate, dividend, call))

    # Normalise: x = ln(F/K), b = price / (√(F·K)·e^(-rT)) = price / √(S·e^(-qT)·K·e^(-rT)).
    x = np.log(s / k) + (r - q) * t
    b_in = p / (np.sqrt(s * k) * np.exp(-0.5 * (r + q) * t))
    in_the_money = np.where(c, x > 0.0, x < 0.0)
    half = 0.5 * np.abs(x)
    b_max = np.exp(-half)  # bound of the out-of-the-money call at x = -|x|
    intrinsic = np.where(in_the_money, np.exp(half) - b_max, 0.0)
    beta = b_in - intrinsic
    bounds = np.where(
        ~np.isfinite(beta),  # years or rates so large that the normalisation overflows
        IV_INVALID_INPUT,
        np.where(
            beta <= 0.0, IV_BELOW_INTRINSIC, np.where(beta >= b_max, IV_ABOVE_UPPER_BOUND, IV_OK)
        ),
    )
    reason[index] = bounds
    solvable = bounds == IV_OK
    if not solvable.any():
        return
    keep = np.flatnonzero(solvable)
    index = index[keep]
    # The price (and for in-the-money options the forward and strike legs it is the difference
    # of) carries this much rounding error; it limits how well the price determines vol.
    noise = _ROUNDING * (b_in + np.where(in_the_money, np.exp(half) + b_max, 0.0)) + _UNDERFLOW
    total_vol, resolution, converged = _solve_normalised(-np.abs(x[keep]), beta[keep], noise[keep])
    root_t = np.sqrt(t[keep])
    vol_resolution = resolution / root_t
    verdict = np.where(
        ~(vol_resolution <= IV_RESOLUTION),
        IV_VEGA_NEGLIGIBLE,
        np.where(converged, IV_OK, IV_NO_CONVERGENCE),
    )
    reason[index] = verdict
    iv[index] = np.where(verdict == IV_OK, total_vol / root_t, np.nan)


def _solve_normalised(
    x: FloatArray, beta: FloatArray, noise: FloatArray
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Total vol s with b(x, s) = β for x <= 0 and 0 < β < e^(x/2).

    Returns s, the resolution of s (how far a price error of `noise` plus the evaluation's own
    rounding moves it), and whether the iteration converged.
    """
    b_max = np.exp(0.5 * x)
    b_min = np.exp(-0.5 * x)
    s_c = np.sqrt(-2.0 * x)
    b_c = 0.5 * b_max - b_min * ndtr(-s_c)  # N(d1) = 1/2 at the inflection point
    v_c = _INV_SQRT_2PI * b_max  # vega there
    s_l = s_c - b_c / v_c
    s_u = s_c + (b_max - b_c) / v_c
    b_l = np.where(s_l > 0.0, _normalised_call(x, s_l, b_max, b_min), 0.0)
    b_u = _normalised_call(x, s_u, b_max, b_min)
    region = np.where(beta < b_l, _LOWER, np.where(beta <= b_u, _MIDDLE, _UPPER))

    total_vol = np.empty(x.size)
    resolution = np.empty(x.size)
    converged = np.empty(x.size, dtype=bool)
    for which in (_LOWER, _MIDDLE, _UPPER):
        index = np.flatnonzero(region == which)
        if index.size == 0:
            continue
        xi, bi = x[index], beta[index]
        if which == _LOWER:
            # Exponent-dominated: ln b(s) ≈ ln b_l - x²/2·(1/s² - 1/s_l²), matched at s_l.
            guess = 1.0 / np.sqrt(1.0 / s_l[index] ** 2 + 2.0 * np.log(b_l[index] / bi) / xi**2)
            low, high = np.zeros(index.size), s_l[index]
        elif which == _MIDDLE:
            guess = s_c[index] + (bi - b_c[index]) / v_c[index]
            low, high = np.maximum(s_l[index], 0.0), s_u[index]
        else:
            # b_max - b(s) ≈ (b_max + b_min)·N(-s/2) for large s, matched at s_u.
            gap = (b_max[index] - bi) / (b_max[index] - b_u[index])
            guess = -2.0 * ndtri(gap * ndtr(-0.5 * s_u[index]))
            low, high = s_u[index], np.full(index.size, np.inf)
        total_vol[index], resolution[index], converged[index] = _halley(
            which, xi, bi, guess, low.copy(), high.copy(), b_max[index], b_min[index], noise[index]
        )
    return total_vol, resolution, converged


def _halley(
    region: int,
    x: FloatArray,
    beta: FloatArray,
    s: FloatArray,
    low: FloatArray,
    high: FloatArray,
    b_max: FloatArray,
    b_min: FloatArray,
    noise: FloatArray,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Safeguarded Halley iteration of one region's objective on a shrinking active set."""
    s = np.where((s > low) & (s < high), s, _bisect(low, high))
    resolution = np.full(s.size, np.inf)
    converged = np.zeros(s.size, dtype=bool)
    active = np.arange(s.size)
    log_beta = np.log(beta) if region == _LOWER else beta
    gap_beta = b_max - beta
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        sa, xa, ea, ma = s[active], x[active], b_max[active], b_min[active]
        h = xa / sa
        t = 0.5 * sa
        vega = _INV_SQRT_2PI * np.exp(-0.5 * (h * h + t * t))
        curvature = h * h / sa - 0.5 * t  # b''(s) / b'(s)
        n2 = ndtr(h - t)
        if region == _UPPER:
            n1_low = ndtr(-h - t)  # 1 - N(d1), without the cancellation near b_max
            gap = ea * n1_low + ma * n2
            root_above = gap > gap_beta[active]
            g = np.log(gap_beta[active]) - np.log(gap)
            g1 = vega / gap
            g2 = g1 * (curvature + g1)
            legs = ea + ma * n2  # bounds the legs' sum without computing N(d1)
        else:
            n1 = ndtr(h + t)
            b = ea * n1 - ma * n2
            root_above = b < beta[active]
            legs = ea * n1 + ma * n2
            if region == _MIDDLE:
                g = b - beta[active]
                g1 = vega
                g2 = vega * curvature
            else:
                log_b = np.log(b)
                g = 1.0 / log_b - 1.0 / log_beta[active]
                ratio = vega / b
                g1 = -ratio / (log_b * log_b)
                g2 = g1 * curvature + ratio * ratio / (log_b * log_b) * (1.0 + 2.0 / log_b)
        resolution[active] = (noise[active] + _ROUNDING * legs) / vega
        newton = -g / g1
        correction = 0.5 * newton * g2 / g1
        # Far from the root Halley's denominator can vanish; Newton (and the bracket) take over.
        step = np.where(np.abs(correction) < 0.5, newton / (1.0 + correction), newton)
        la = np.where(root_above, np.maximum(low[active], sa), low[active])
        ha = np.where(root_above, high[active], np.minimum(high[active], sa))
        low[active], high[active] = la, ha
        proposal = sa + step
        done = np.abs(step) <= _STEP_TOLERANCE * sa
        outside = ~((proposal > la) & (proposal < ha))
        s[active] = np.where(outside & ~done, _bisect(la, ha), proposal)
        converged[active] = done
        active = active[~done]
    return s, resolution, converged


def _bisect(low: FloatArray, high: FloatArray) -> FloatArray:
    """Midpoint of a finite bracket; an upper-unbounded one (low > 0) doubles instead."""
    result: FloatArray = np.where(np.isfinite(high), 0.5 * (low + high), 2.0 * low)
    return result


# ---------------------------------------------------------------------------------------------
# One contract at a time, for the CLI, risk checks and tests.
# ---------------------------------------------------------------------------------------------


def _is_call(right: str) -> bool:
    normalised = right.strip().lower()
    if normalised in ("call", "c"):
        return True
    if normalised in ("put", "p"):
        return False
    raise ValueError(f"right must be 'call' or 'put', not {right!r}")


def greeks_one(
    spot: float,
    strike: float,
    years: float,
    rate: float,
    vol: float,
    right: str,
    dividend: float = 0.0,
) -> dict[str, float]:
    """Price and Greeks of one option, in textbook units plus trader units.

    Keys: price, delta, gamma, vega (per 1.00 vol), theta (per year), rho (per 1.00 rate),
    vega_1pct (per vol point, vega / 100) and theta_day (per calendar day, theta / 365).
    `right` is "call" or "put" (or "c"/"p"); anything else raises ValueError.
    """
    greeks = black_scholes(spot, strike, years, rate, vol, _is_call(right), dividend)
    result = {name: float(value) for name, value in zip(Greeks._fields, greeks, strict=True)}
    result["vega_1pct"] = result["vega"] / 100.0
    result["theta_day"] = result["theta"] / 365.0
    return result


def implied_vol_one(
    price: float,
    spot: float,
    strike: float,
    years: float,
    rate: float,
    right: str,
    dividend: float = 0.0,
) -> tuple[float | None, str | None]:
    """Implied volatility of one option price: `(iv, None)`, or `(None, reason)` if it has none.

    `right` is "call" or "put" (or "c"/"p"); anything else raises ValueError.
    """
    result = implied_volatility(price, spot, strike, years, rate, _is_call(right), dividend)
    code = int(result.reason)
    if code != IV_OK:
        return None, IV_REASONS[code]
    return float(result.iv), None
