"""erfc and the standard normal CDF and quantile, with the same bits on every CPU.

Built on `portable_math` and the same rule: only + - * / and sqrt on float64 arrays, so every
SIMD level rounds alike (see that module's docstring for why scipy's `ndtr` does not).

erfc follows fdlibm's s_erf.c (Sun Microsystems, 1993; "Permission to use, copy, modify, and
distribute this software is freely granted, provided that this notice is preserved."): a
rational approximation on four intervals of |x|, the outer two through
exp(-x² - 0.5625 + R/S), with x² split exactly. `ndtr(x) = erfc(-x/√2) / 2` as in Cephes, so
its relative error in the far tails grows like x²·2^-53, as scipy's does. `ndtri` is Wichura's
AS241 (1988), whose relative error is about 1e-16.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from flows.trading.portable_math import FloatArray, _deliver, _float_array, _poly, exp, log

_ERX = 8.45062911510467529297e-01
_PP = (
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
)
_QQ = (
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
)
_PA = (
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
)
_QA = (
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
)
_RA = (
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
)
_SA = (
    1.0,
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
)
_RB = (
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
)
_SB = (
    1.0,
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
)
# Wichura's AS241: numerator and denominator of the central, intermediate and far regions.
_AS241_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_AS241_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_AS241_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_AS241_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_AS241_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_AS241_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)
_SQRT_HALF = 0.70710678118654752440
_LOW_WORD = np.int64(0xFFFFFFFF)


def _erfc_small(x: FloatArray) -> FloatArray:
    """|x| < 0.84375: 1 - erf(x) with erf(x) = x + x·P(x²)/Q(x²)."""
    z = x * x
    y = _poly(z, _PP) / _poly(z, _QQ)
    return np.where(x < 0.25, 1.0 - (x + x * y), 0.5 - (x * y + (x - 0.5)))


def _erfc_near_one(x: FloatArray) -> FloatArray:
    """0.84375 <= |x| < 1.25: around erf(1) by a rational function of |x| - 1."""
    s = np.abs(x) - 1.0
    ratio = _poly(s, _PA) / _poly(s, _QA)
    return np.where(x >= 0.0, (1.0 - _ERX) - ratio, 1.0 + (_ERX + ratio))


def _erfc_tail(x: FloatArray, ratio: FloatArray) -> FloatArray:
    """1.25 <= |x| < 28: exp(-x² - 0.5625 + R/S) / |x|, with x² split so that its rounding
    does not reach the exponent (z is |x| with its low 32 bits cleared, so z·z is exact)."""
    ax = np.abs(x)
    z = (ax.view(np.int64) & ~_LOW_WORD).view(np.float64)
    r = exp(-z * z - 0.5625) * exp((z - ax) * (z + ax) + ratio)
    return np.where(x > 0.0, r / ax, 2.0 - r / ax)


def _erfc_inner_tail(x: FloatArray) -> FloatArray:
    """1.25 <= |x| < 1/0.35."""
    s = 1.0 / (x * x)
    return _erfc_tail(x, _poly(s, _RA) / _poly(s, _SA))


def _erfc_outer_tail(x: FloatArray) -> FloatArray:
    """1/0.35 <= |x| < 28 (and x > -6, below which erfc rounds to 2)."""
    s = 1.0 / (x * x)
    return _erfc_tail(x, _poly(s, _RB) / _poly(s, _SB))


def erfc(x: ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """Complementary error function, elementwise (fdlibm s_erf.c; a few ulp)."""
    x = _float_array(x)
    flat = x.reshape(-1)
    result = np.empty(flat.shape)
    ax = np.abs(flat)
    with np.errstate(all="ignore"):
        for region, evaluate in (
            (ax < 0.84375, _erfc_small),
            ((ax >= 0.84375) & (ax < 1.25), _erfc_near_one),
            ((ax >= 1.25) & (ax < 1.0 / 0.35), _erfc_inner_tail),
            ((ax >= 1.0 / 0.35) & (ax < 28.0) & (flat > -6.0), _erfc_outer_tail),
        ):
            index = np.flatnonzero(region)
            if index.size:
                result[index] = evaluate(flat[index])
        far = ~(ax < 28.0) | (flat <= -6.0)  # includes NaN, fixed below
        result[far] = np.where(flat[far] > 0.0, 0.0, 2.0)
        result[np.isnan(flat)] = np.nan
    return _deliver(result.reshape(x.shape), out)


def ndtr(x: ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """Standard normal CDF N(x) = erfc(-x/√2) / 2, elementwise."""
    result = 0.5 * erfc(np.multiply(_float_array(x), -_SQRT_HALF))
    return _deliver(result, out)


def ndtri(p: ArrayLike) -> FloatArray:
    """Standard normal quantile, the inverse of `ndtr` (Wichura's AS241); NaN outside [0, 1],
    ∓inf at 0 and 1."""
    p = _float_array(p)
    with np.errstate(all="ignore"):
        q = p - 0.5
        r = 0.180625 - q * q
        central = q * _poly(r, _AS241_A) / _poly(r, _AS241_B)
        w = np.sqrt(-log(np.where(q <= 0.0, p, 1.0 - p)))
        near = _poly(w - 1.6, _AS241_C) / _poly(w - 1.6, _AS241_D)
        far = _poly(w - 5.0, _AS241_E) / _poly(w - 5.0, _AS241_F)
        tail = np.where(w <= 5.0, near, far)
        result = np.where(np.abs(q) <= 0.425, central, np.where(q < 0.0, -tail, tail))
        result = np.where(p == 0.0, -np.inf, np.where(p == 1.0, np.inf, result))
        result = np.where((p >= 0.0) & (p <= 1.0), result, np.nan)
    return np.asarray(result, dtype=np.float64)
