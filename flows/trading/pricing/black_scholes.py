"""Black-Scholes-Merton prices and Greeks of European options with a dividend yield.

Units and edge cases are those of the package (`flows.trading.pricing`). `black_scholes` and
`option_price` run the same operations in the same order on the price, so both give identical
prices bit for bit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flows.trading.portable_math import exp, log
from flows.trading.portable_normal import ndtr
from flows.trading.pricing.contracts import (
    BLOCK,
    INV_SQRT_2PI,
    Contracts,
    FloatArray,
    Operand,
    broadcast_contracts,
    call_flags,
    has_dividend,
    is_put_or_mixed,
    put_call_sign,
    take,
)


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
    shape, contracts = broadcast_contracts(is_call, spot, strike, years, rate, vol, dividend)
    flags = call_flags(is_call, shape)
    size = math.prod(shape)
    out = Greeks(*(np.empty(size) for _ in Greeks._fields))
    scratch = np.empty((8, min(size, BLOCK)))
    with np.errstate(all="ignore"):
        for start in range(0, size, BLOCK):
            stop = min(start + BLOCK, size)
            rows = scratch[:, : stop - start]
            sign = put_call_sign(flags, start, stop, rows[7])
            views = Greeks(*(array[start:stop] for array in out))
            _greeks_block(contracts.block(start, stop), sign, views, rows[:7])
    return Greeks(*(array.reshape(shape) for array in out))


def _greeks_block(contracts: Contracts, sign: Operand, out: Greeks, scratch: FloatArray) -> None:
    """One block's price and Greeks into `out`, with seven rows of `scratch`.

    Output buffers double as scratch until their own value is written: `price` holds e^(-qT)
    and `rho` half the total vol, and the rows of the two legs hold d1 and d2 until N(d)
    replaces them.
    """
    root_t, total_vol, d1, d2, density, strike_pv, carry = scratch
    disc_q, half_total_vol = out.price, out.rho
    np.sqrt(contracts.years, out=root_t)
    np.multiply(contracts.vol, root_t, out=total_vol)
    # min() is NaN-aware here: a NaN total vol fails the comparison and takes the slow path.
    degenerate = not total_vol.min() > 0.0
    np.multiply(total_vol, 0.5, out=half_total_vol)
    _discount(contracts, carry, disc_q, strike_pv)
    _d1_d2(contracts, carry, total_vol, half_total_vol, d1, d2)
    np.multiply(d1, d1, out=density)
    np.multiply(density, -0.5, out=density)
    exp(density, out=density)
    np.multiply(density, INV_SQRT_2PI, out=density)
    _cumulative_normals(sign, d1, d2)
    _spot_and_vol_greeks(contracts, sign, out, scratch)
    _legs(contracts, sign, out, scratch)
    if degenerate:
        index = np.flatnonzero(~(total_vol > 0.0))
        _settle_degenerate(contracts.take(index), take(sign, index), index, out)


def _discount(
    contracts: Contracts, carry: FloatArray, disc_q: FloatArray, strike_pv: FloatArray
) -> None:
    """carry = (r - q)·T, the log of the forward's drift; strike_pv = K·e^(-rT); and, when the
    block has a dividend, disc_q = e^(-qT) (else disc_q is left alone)."""
    _, strike, years, rate, _, dividend = contracts
    if has_dividend(dividend):
        np.multiply(rate, years, out=strike_pv)
        np.multiply(dividend, years, out=disc_q)
        np.subtract(strike_pv, disc_q, out=carry)
        np.negative(disc_q, out=disc_q)
        exp(disc_q, out=disc_q)  # e^(-qT)
        np.negative(strike_pv, out=strike_pv)
    else:
        np.multiply(rate, years, out=carry)
        np.negative(carry, out=strike_pv)
    exp(strike_pv, out=strike_pv)
    np.multiply(strike_pv, strike, out=strike_pv)  # K·e^(-rT)


def _d1_d2(
    contracts: Contracts,
    carry: FloatArray,
    total_vol: FloatArray,
    half_total_vol: FloatArray,
    d1: FloatArray,
    d2: FloatArray,
) -> None:
    """d1 = (ln(S/K) + carry) / σ√T + σ√T/2 and d2 = d1 - σ√T, into their rows.

    `half_total_vol` may be the row of d2: it is read before d2 is written.
    """
    np.divide(contracts.spot, contracts.strike, out=d1)
    log(d1, out=d1)
    np.add(d1, carry, out=d1)
    np.divide(d1, total_vol, out=d1)
    np.add(d1, half_total_vol, out=d1)
    np.subtract(d1, total_vol, out=d2)


def _cumulative_normals(sign: Operand, d1: FloatArray, d2: FloatArray) -> None:
    """N(w·d1) and N(w·d2) in place of d1 and d2 (w = +1 call, -1 put)."""
    if is_put_or_mixed(sign):
        np.multiply(d1, sign, out=d1)
        np.multiply(d2, sign, out=d2)
    ndtr(d1, out=d1)
    ndtr(d2, out=d2)


def _spot_and_vol_greeks(
    contracts: Contracts, sign: Operand, out: Greeks, scratch: FloatArray
) -> None:
    """Delta, gamma, vega and the time decay S·e^(-qT)·n(d1)·σ / (2√T) (positive) in theta.

    Put-call symmetry: with w = ±1, each leg is w·N(w·d) times its discounted amount, so
    signing the discount factor once signs delta (and, through it, the spot leg).
    """
    spot, _, years, _, _, dividend = contracts
    root_t, total_vol, n1, _, density, _, tmp = scratch
    disc_q, half_total_vol = out.price, out.rho
    if has_dividend(dividend):
        np.multiply(density, disc_q, out=density)
        if is_put_or_mixed(sign):
            np.multiply(disc_q, sign, out=disc_q)
        np.multiply(n1, disc_q, out=out.delta)
    elif is_put_or_mixed(sign):
        np.multiply(n1, sign, out=out.delta)
    else:
        np.copyto(out.delta, n1)
    np.multiply(spot, total_vol, out=tmp)
    np.divide(density, tmp, out=out.gamma)
    np.multiply(density, spot, out=density)  # S·e^(-qT)·n(d1)
    np.multiply(density, root_t, out=out.vega)
    np.multiply(density, half_total_vol, out=out.theta)
    np.divide(out.theta, years, out=out.theta)


def _legs(contracts: Contracts, sign: Operand, out: Greeks, scratch: FloatArray) -> None:
    """Price, theta and rho from the two signed legs; theta holds the time decay on entry."""
    spot, _, years, rate, _, dividend = contracts
    _, _, spot_leg, strike_leg, _, strike_pv, tmp = scratch
    if is_put_or_mixed(sign):
        np.multiply(strike_pv, sign, out=strike_pv)
    np.multiply(out.delta, spot, out=spot_leg)  # w·S·e^(-qT)·N(w·d1)
    np.multiply(strike_leg, strike_pv, out=strike_leg)  # w·K·e^(-rT)·N(w·d2)
    np.subtract(spot_leg, strike_leg, out=out.price)
    np.multiply(strike_leg, rate, out=tmp)
    if has_dividend(dividend):
        np.multiply(spot_leg, dividend, out=spot_leg)
        np.subtract(spot_leg, tmp, out=tmp)
    else:
        np.negative(tmp, out=tmp)
    np.subtract(tmp, out.theta, out=out.theta)
    np.multiply(strike_leg, years, out=out.rho)
    # Rounding can leave a price whose legs cancel a hair below zero, or at -0.0; prices are >= 0.
    np.maximum(out.price, 0.0, out=out.price)


def _settle_degenerate(
    contracts: Contracts, sign: Operand, index: NDArray[np.intp], out: Greeks
) -> None:
    """Zero total volatility: at expiry, or a deterministic forward. Negative inputs give NaN.

    `contracts` and `sign` are already taken at `index`, the positions to write in `out`.
    """
    spot, strike, years, rate, vol, dividend = contracts
    t = np.broadcast_to(years, index.shape)
    forward_moneyness = log(np.divide(spot, strike)) + np.multiply(np.subtract(rate, dividend), t)
    # The 0/1 step in N(w·d), with its midpoint exactly at the money (the limit as vol -> 0).
    step = np.sign(np.multiply(sign, forward_moneyness)) * 0.5 + 0.5
    disc_q = exp(-np.multiply(dividend, t))
    spot_leg = np.multiply(spot, disc_q) * step
    strike_leg = np.multiply(strike, exp(-np.multiply(rate, t))) * step
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
    shape, contracts = broadcast_contracts(is_call, spot, strike, years, rate, vol, dividend)
    flags = call_flags(is_call, shape)
    size = math.prod(shape)
    out = np.empty(size)
    scratch = np.empty((6, min(size, BLOCK)))
    with np.errstate(all="ignore"):
        for start in range(0, size, BLOCK):
            stop = min(start + BLOCK, size)
            rows = scratch[:, : stop - start]
            sign = put_call_sign(flags, start, stop, rows[5])
            _price_block(contracts.block(start, stop), sign, out[start:stop], rows[:5])
    return out.reshape(shape)


def _price_block(
    contracts: Contracts, sign: Operand, price: FloatArray, scratch: FloatArray
) -> None:
    # The same operations in the same order as _greeks_block, so both give identical prices.
    total_vol, d1, d2, carry, strike_pv = scratch
    disc_q = price
    np.sqrt(contracts.years, out=total_vol)
    np.multiply(contracts.vol, total_vol, out=total_vol)
    degenerate = not total_vol.min() > 0.0
    _discount(contracts, carry, disc_q, strike_pv)
    np.multiply(total_vol, 0.5, out=d2)  # half the total vol, until d2 replaces it
    _d1_d2(contracts, carry, total_vol, d2, d1, d2)
    _cumulative_normals(sign, d1, d2)
    if has_dividend(contracts.dividend):
        np.multiply(d1, disc_q, out=d1)
    np.multiply(d1, contracts.spot, out=d1)
    np.multiply(d2, strike_pv, out=d2)
    np.subtract(d1, d2, out=price)
    if is_put_or_mixed(sign):
        np.multiply(price, sign, out=price)
    np.maximum(price, 0.0, out=price)
    if degenerate:
        index = np.flatnonzero(~(total_vol > 0.0))
        settled = Greeks(*(np.empty(index.size) for _ in Greeks._fields))
        _settle_degenerate(contracts.take(index), take(sign, index), np.arange(index.size), settled)
        price[index] = settled.price
