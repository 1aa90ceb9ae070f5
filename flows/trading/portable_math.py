"""exp, log, expm1, power, erfc and the normal CDF and quantile, with the same bits on every CPU.

numpy's own `exp`/`log`/`power` (and scipy's `ndtr`, through the C library's `exp`) pick a
different implementation for each SIMD level (AVX-512, AVX2, baseline) and round differently
in the last bit, so Greeks and marks computed with them change from machine to machine. These
functions are written only with + - * / and sqrt on float64 arrays: IEEE 754 rounds each of
those correctly, so every SIMD level gives the same result, and numpy never fuses a multiply
and an add into an FMA. Integer and bit operations (exponent extraction, scaling by 2^k) are
exact everywhere.

Algorithms and coefficients are those of fdlibm (Sun Microsystems, 1993: e_exp.c, e_log.c,
s_expm1.c, s_erf.c; "Permission to use, copy, modify, and distribute this software is freely
granted, provided that this notice is preserved.") and Wichura's AS241 for the quantile,
vectorised: range reduction, then a polynomial or rational approximation. Errors are below
1 ulp for exp, log and expm1 and a few ulp for erfc; see tests/flows/trading/test_portable_math.py.

One code path per quantity: a scalar goes through the same array code (`scalar`), so a value
computed for one contract equals the one computed for a whole chain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_LN2_HI = 6.93147180369123816490e-01  # 0x3FE62E42FEE00000: k·_LN2_HI is exact for |k| < 2^21
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_EXP_P = (
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)
_LOG_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_EXPM1_Q = (
    -3.33333333333331316428e-02,
    1.58730158725481460165e-03,
    -7.93650757867487942473e-05,
    4.00821782732936239552e-06,
    -2.01099218183624371326e-07,
)
_MANTISSA = (1 << 52) - 1
_SQRT_HALF = 0.70710678118654752440


def _float_array(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _flat(x: ArrayLike) -> tuple[tuple[int, ...], FloatArray]:
    """The shape, and the values as a 1-d array: in-place steps need arrays, not 0-d scalars."""
    array = _float_array(x)
    return array.shape, array.reshape(-1)


def _deliver(result: FloatArray, out: FloatArray | None) -> FloatArray:
    if out is None:
        return result
    np.copyto(out, result)
    return out


def _poly(x: FloatArray, coefficients: tuple[float, ...]) -> FloatArray:
    """c0 + x·(c1 + x·(c2 + ...)) by Horner's rule, in the fixed order of fdlibm."""
    acc = np.full(x.shape, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        acc *= x
        acc += c
    return acc


def _two_to(k: NDArray[np.int64]) -> FloatArray:
    """2^k exactly, for integers -1022 <= k <= 1023, from the exponent bits."""
    bits: FloatArray = ((k + 1023) << 52).view(np.float64)
    return bits


def _scale(y: FloatArray, k: NDArray[np.int64]) -> FloatArray:
    """y·2^k in two exact-or-once-rounded steps, so results near overflow or in the subnormal
    range are rounded once, like ldexp."""
    half = k >> 1
    return y * _two_to(half) * _two_to(k - half)


def _reduce(x: FloatArray, k: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Cody-Waite: r = x - k·ln2 as hi - lo, without cancellation error."""
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    return hi - lo, hi, lo


def exp(x: ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """e^x, elementwise (fdlibm e_exp.c; error < 1 ulp)."""
    shape, x = _flat(x)
    with np.errstate(all="ignore"):
        # The common case skips the clipping and NaN passes: |x| < 708 keeps 2^k normal.
        ordinary = bool(np.all(np.abs(x) < 708.0))
        finite = x if ordinary else np.where(np.isnan(x), 0.0, np.clip(x, -746.0, 710.0))
        k = finite * _INV_LN2
        np.rint(k, out=k)
        r, hi, lo = _reduce(finite, k)
        t = r * r
        c = _poly(t, _EXP_P)
        c *= t
        np.subtract(r, c, out=c)
        y = r * c
        y /= 2.0 - c
        np.subtract(lo, y, out=y)
        y -= hi
        np.subtract(1.0, y, out=y)
        ki = k.astype(np.int64)
        if ordinary:
            y *= _two_to(ki)
            return _deliver(y.reshape(shape), out)
        result = np.where(np.isnan(x), x, _scale(y, ki))
    return _deliver(result.reshape(shape), out)


def log(x: ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """Natural logarithm, elementwise (fdlibm e_log.c; error < 1 ulp). log(0) = -inf,
    log(negative) = NaN."""
    shape, x = _flat(x)
    with np.errstate(all="ignore"):
        # The common case (positive, normal, finite) skips the special-value passes.
        ordinary = bool(np.all((x >= 2.2250738585072014e-308) & (x <= 1.7976931348623157e308)))
        if ordinary:
            bits = x.view(np.int64)
            k = (bits >> 52) - 1023
        else:
            subnormal = (x > 0.0) & (x < 2.2250738585072014e-308)
            m = np.where(subnormal, x * 18014398509481984.0, x)  # 2^54 makes it normal
            bits = np.abs(m).view(np.int64)
            k = (bits >> 52) - 1023 - np.where(subnormal, 54, 0)
        mantissa = bits & _MANTISSA
        # Normalise into [sqrt(2)/2, sqrt(2)) at fdlibm's threshold, high mantissa word 0x6a09c.
        high = mantissa >> 32
        upper = high >= 0x6A09C
        k += upper
        mantissa |= np.where(upper, 1022 << 52, 1023 << 52)
        f = mantissa.view(np.float64) - 1.0
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        lg1, lg2, lg3, lg4, lg5, lg6, lg7 = _LOG_LG
        r = _poly(w, (lg2, lg4, lg6))
        r *= w
        t2 = _poly(w, (lg1, lg3, lg5, lg7))
        t2 *= z
        r += t2
        dk = k.astype(np.float64)
        hfsq = 0.5 * f * f
        # fdlibm's two forms: the one with f²/2 is the more accurate where |f| is largest.
        with_hfsq = dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)
        without = dk * _LN2_HI - ((s * (f - r) - dk * _LN2_LO) - f)
        result = np.where((high > 0x6147A) & (high < 0x6B851), with_hfsq, without)
        if not ordinary:
            result = np.where(x > 0.0, result, np.where(x == 0.0, -np.inf, np.nan))
            result = np.where(np.isinf(x) & (x > 0), np.inf, result)
            result = np.where(np.isnan(x), x, result)
    return _deliver(result.reshape(shape), out)


def expm1(x: ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """e^x - 1 without the cancellation near 0, elementwise (fdlibm s_expm1.c; error < 1 ulp)."""
    x = _float_array(x)
    with np.errstate(all="ignore"):
        clipped = np.where(np.isnan(x), 0.0, np.clip(x, -60.0, 710.0))
        k = np.where(np.abs(clipped) < 0.5 * _LN2_HI, 0.0, np.rint(clipped * _INV_LN2))
        r, hi, lo = _reduce(clipped, k)
        c = (hi - r) - lo
        hfx = 0.5 * r
        hxs = r * hfx
        r1 = 1.0 + hxs * _poly(hxs, _EXPM1_Q)
        t = 3.0 - r1 * hfx
        e = hxs * ((r1 - t) / (6.0 - r * t))
        near_zero = r - (r * e - hxs)
        e = (r * (e - c) - c) - hxs
        ki = k.astype(np.int64)
        y = 1.0 - (e - r)
        scaled = _scale(y, ki) - 1.0
        # 1 - 2^-k added before scaling keeps the rounding to one step for moderate k.
        mid_small = _scale((1.0 - _two_to(np.clip(-ki, -1022, 1023))) - (e - r), ki)
        mid_large = _scale((r - (e + _two_to(np.clip(-ki, -1022, 1023)))) + 1.0, ki)
        result = np.where(
            ki == 0,
            near_zero,
            np.where(
                ki == -1,
                0.5 * (r - e) - 0.5,
                np.where(
                    ki == 1,
                    np.where(r < -0.25, -2.0 * (e - (r + 0.5)), 1.0 + 2.0 * (r - e)),
                    np.where(
                        (ki <= -2) | (ki > 56),
                        scaled,
                        np.where(ki < 20, mid_small, mid_large),
                    ),
                ),
            ),
        )
        result = np.where(x < -60.0, -1.0, result)
        result = np.where(np.isnan(x), x, result)
    return _deliver(result, out)


def power(base: ArrayLike, exponent: ArrayLike) -> FloatArray:
    """base^exponent for base > 0, as exp(exponent·log(base)) (the relative error grows with
    |exponent·log(base)|: a few ulp for the moderate powers of a volatility term structure)."""
    return exp(np.multiply(exponent, log(base)))


def scalar(function: Callable[[ArrayLike], FloatArray], x: float) -> float:
    """`function` at one float, through the same array code as a whole array."""
    return float(function(np.array([x]))[0])
