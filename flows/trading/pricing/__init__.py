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

One module per subject: `black_scholes` (prices and Greeks), `implied_vol` (the solver and its
reason codes), `one_contract` (scalar conveniences); `contracts` holds the broadcasting and
blocking they share.
"""

from __future__ import annotations

from flows.trading.pricing.black_scholes import Greeks, black_scholes, option_price
from flows.trading.pricing.contracts import FloatArray
from flows.trading.pricing.implied_vol import (
    IV_ABOVE_UPPER_BOUND,
    IV_BELOW_INTRINSIC,
    IV_EXPIRED,
    IV_INVALID_INPUT,
    IV_NO_CONVERGENCE,
    IV_NON_POSITIVE_PRICE,
    IV_OK,
    IV_REASONS,
    IV_RESOLUTION,
    IV_VEGA_NEGLIGIBLE,
    ImpliedVol,
    implied_volatility,
)
from flows.trading.pricing.one_contract import greeks_one, implied_vol_one

__all__ = [
    "IV_ABOVE_UPPER_BOUND",
    "IV_BELOW_INTRINSIC",
    "IV_EXPIRED",
    "IV_INVALID_INPUT",
    "IV_NON_POSITIVE_PRICE",
    "IV_NO_CONVERGENCE",
    "IV_OK",
    "IV_REASONS",
    "IV_RESOLUTION",
    "IV_VEGA_NEGLIGIBLE",
    "FloatArray",
    "Greeks",
    "ImpliedVol",
    "black_scholes",
    "greeks_one",
    "implied_vol_one",
    "implied_volatility",
    "option_price",
]
