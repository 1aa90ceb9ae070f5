"""Black-Scholes-Merton implied volatility, vectorised, with a reason wherever there is none.

The solver works on Jäckel's normalised Black price of an out-of-the-money call,
    b(x, s) = e^(x/2)·N(x/s + s/2) - e^(-x/2)·N(x/s - s/2),   x = ln(F/K) <= 0,
with s = vol·√years the total volatility and b the price divided by √(F·K)·e^(-rT). An
in-the-money option has the time value of the out-of-the-money one at the same strike, and a
put at x is a call at -x, so every input reduces to this one monotone function of s.
Following Jäckel ("By Implication", 2006), b is convex below the inflection point
s_c = √(2|x|) and concave above it; the tangent there splits s into three regions, each with
a matched initial guess and an objective that is nearly linear in s there:
  lower:  1/ln b(s) - 1/ln β        (b is exponentially small)
  middle: b(s) - β
  upper:  ln(b_max - β) - ln(b_max - b(s))   (b is close to its bound b_max = e^(x/2))
Halley steps on these converge in two or three evaluations; a bracket that every evaluation
tightens turns a step that leaves it into bisection, so the iteration cannot diverge.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flows.trading.portable_math import exp, log
from flows.trading.portable_normal import ndtr, ndtri
from flows.trading.pricing.contracts import BLOCK, EPS, INV_SQRT_2PI, FloatArray

BoolArray = NDArray[np.bool_]


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

_LOWER, _MIDDLE, _UPPER = 0, 1, 2
_MAX_ITERATIONS = 60
_STEP_TOLERANCE = 1e-7  # relative; a Halley step this small leaves an error of order 1e-21
_ROUNDING = 4.0 * EPS  # the relative error of a price (input, or evaluated) in this model
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
        for start in range(0, size, BLOCK):
            part = slice(start, min(start + BLOCK, size))
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
    call: BoolArray,
    iv: FloatArray,
    reason: NDArray[np.int8],
) -> None:
    iv.fill(np.nan)
    reason[:] = _input_reasons(price, spot, strike, years, rate, dividend)
    index = np.flatnonzero(reason == IV_OK)
    if index.size == 0:
        return
    p, s, k, t, r, q = (x[index] for x in (price, spot, strike, years, rate, dividend))
    x, beta, noise, bounds = _normalise(p, s, k, t, r, q, call[index])
    reason[index] = bounds
    solvable = bounds == IV_OK
    if not solvable.any():
        return
    keep = np.flatnonzero(solvable)
    index = index[keep]
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


def _input_reasons(
    price: FloatArray,
    spot: FloatArray,
    strike: FloatArray,
    years: FloatArray,
    rate: FloatArray,
    dividend: FloatArray,
) -> NDArray[np.int64]:
    """IV_OK where the inputs are an option with a price, else why not (before any bound)."""
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
    reasons: NDArray[np.int64] = np.where(
        ~finite,
        IV_INVALID_INPUT,
        np.where(years <= 0.0, IV_EXPIRED, np.where(price <= 0.0, IV_NON_POSITIVE_PRICE, IV_OK)),
    )
    return reasons


def _normalise(
    p: FloatArray,
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    c: BoolArray,
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.int64]]:
    """(x, β, noise, bound reasons): the normalised problem of each price, and IV_OK where β
    lies strictly inside its no-arbitrage bounds.

    x = ln(F/K); b = price / (√(F·K)·e^(-rT)) = price / √(S·e^(-qT)·K·e^(-rT)), and β is its
    time value, b less the normalised intrinsic value. `noise` is the rounding error that the
    price (and for in-the-money options the forward and strike legs it is the difference of)
    carries; it limits how well the price determines vol.
    """
    x = log(s / k) + (r - q) * t
    b_in = p / (np.sqrt(s * k) * exp(-0.5 * (r + q) * t))
    in_the_money = np.where(c, x > 0.0, x < 0.0)
    half = 0.5 * np.abs(x)
    b_max = exp(-half)  # bound of the out-of-the-money call at x = -|x|
    intrinsic = np.where(in_the_money, exp(half) - b_max, 0.0)
    beta = b_in - intrinsic
    bounds = np.where(
        ~np.isfinite(beta),  # years or rates so large that the normalisation overflows
        IV_INVALID_INPUT,
        np.where(
            beta <= 0.0, IV_BELOW_INTRINSIC, np.where(beta >= b_max, IV_ABOVE_UPPER_BOUND, IV_OK)
        ),
    )
    noise = _ROUNDING * (b_in + np.where(in_the_money, exp(half) + b_max, 0.0)) + _UNDERFLOW
    return x, beta, noise, bounds


class _Problem(NamedTuple):
    """Equations b(x, s) = β of one region, with the terms every evaluation reuses."""

    x: FloatArray
    beta: FloatArray
    log_beta: FloatArray  # ln β in the lower region (β itself elsewhere, where it is unused)
    gap_beta: FloatArray  # b_max - β
    b_max: FloatArray
    b_min: FloatArray
    noise: FloatArray

    def at(self, index: NDArray[np.intp]) -> _Problem:
        return _Problem(*(terms[index] for terms in self))


def _solve_normalised(
    x: FloatArray, beta: FloatArray, noise: FloatArray
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Total vol s with b(x, s) = β for x <= 0 and 0 < β < e^(x/2).

    Returns s, the resolution of s (how far a price error of `noise` plus the evaluation's own
    rounding moves it), and whether the iteration converged.
    """
    b_max = exp(0.5 * x)
    b_min = exp(-0.5 * x)
    s_c = np.sqrt(-2.0 * x)
    b_c = 0.5 * b_max - b_min * ndtr(-s_c)  # N(d1) = 1/2 at the inflection point
    v_c = INV_SQRT_2PI * b_max  # vega there
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
            guess = 1.0 / np.sqrt(1.0 / s_l[index] ** 2 + 2.0 * log(b_l[index] / bi) / xi**2)
            low, high = np.zeros(index.size), s_l[index]
        elif which == _MIDDLE:
            guess = s_c[index] + (bi - b_c[index]) / v_c[index]
            low, high = np.maximum(s_l[index], 0.0), s_u[index]
        else:
            # b_max - b(s) ≈ (b_max + b_min)·N(-s/2) for large s, matched at s_u.
            gap = (b_max[index] - bi) / (b_max[index] - b_u[index])
            guess = -2.0 * ndtri(gap * ndtr(-0.5 * s_u[index]))
            low, high = s_u[index], np.full(index.size, np.inf)
        problem = _Problem(
            x=xi,
            beta=bi,
            log_beta=log(bi) if which == _LOWER else bi,
            gap_beta=b_max[index] - bi,
            b_max=b_max[index],
            b_min=b_min[index],
            noise=noise[index],
        )
        total_vol[index], resolution[index], converged[index] = _halley(
            which, problem, guess, low.copy(), high.copy()
        )
    return total_vol, resolution, converged


def _halley(
    region: int, problem: _Problem, s: FloatArray, low: FloatArray, high: FloatArray
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Safeguarded Halley iteration of one region's objective on a shrinking active set."""
    s = np.where((s > low) & (s < high), s, _bisect(low, high))
    resolution = np.full(s.size, np.inf)
    converged = np.zeros(s.size, dtype=bool)
    active = np.arange(s.size)
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        sa, pa = s[active], problem.at(active)
        g, g1, g2, vega, root_above, legs = _objective(region, pa, sa)
        resolution[active] = (pa.noise + _ROUNDING * legs) / vega
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


def _objective(
    region: int, problem: _Problem, s: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, FloatArray]:
    """The region's objective g at s and its first two derivatives in s, with the vega b'(s),
    whether the root lies above s, and a bound of the two legs' sum (for the rounding error)."""
    x, beta, log_beta, gap_beta, b_max, b_min, _ = problem
    h = x / s
    t = 0.5 * s
    vega = INV_SQRT_2PI * exp(-0.5 * (h * h + t * t))
    curvature = h * h / s - 0.5 * t  # b''(s) / b'(s)
    n2 = ndtr(h - t)
    if region == _UPPER:
        n1_low = ndtr(-h - t)  # 1 - N(d1), without the cancellation near b_max
        gap = b_max * n1_low + b_min * n2
        root_above = gap > gap_beta
        g = log(gap_beta) - log(gap)
        g1 = vega / gap
        g2 = g1 * (curvature + g1)
        legs = b_max + b_min * n2  # bounds the legs' sum without computing N(d1)
        return g, g1, g2, vega, root_above, legs
    n1 = ndtr(h + t)
    b = b_max * n1 - b_min * n2
    root_above = b < beta
    legs = b_max * n1 + b_min * n2
    if region == _MIDDLE:
        return b - beta, vega, vega * curvature, vega, root_above, legs
    log_b = log(b)
    g = 1.0 / log_b - 1.0 / log_beta
    ratio = vega / b
    g1 = -ratio / (log_b * log_b)
    g2 = g1 * curvature + ratio * ratio / (log_b * log_b) * (1.0 + 2.0 / log_b)
    return g, g1, g2, vega, root_above, legs


def _bisect(low: FloatArray, high: FloatArray) -> FloatArray:
    """Midpoint of a finite bracket; an upper-unbounded one (low > 0) doubles instead."""
    result: FloatArray = np.where(np.isfinite(high), 0.5 * (low + high), 2.0 * low)
    return result
