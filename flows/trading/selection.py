"""Instrument selection and order sizing for the account stage.

`select_option` picks the contract a signal trades from a chain (by days to expiry, then by
delta); `size_order` turns an algorithm config's `Sizing` into a whole number of shares or
contracts. Both are pure functions of their arguments.
"""

from __future__ import annotations

import math

import numpy as np

from flows.trading.chain import MS_PER_DAY, Chain
from schemas.common import Side
from schemas.config import Sizing, SizingMethod

# Float noise below these is a tie, so the documented tie-breaks decide and not the last bit.
_DAYS_TIE = 1e-9
_DELTA_TIE = 1e-12
# A budget that buys exactly n units must not floor to n - 1 because price × multiplier was
# rounded up in its last bit (70 / (0.07 × 100) = 9.999999999999998).
_UNITS_TIE = 1e-9


def select_option(
    chain: Chain,
    is_call: bool,
    target_delta: float,
    days_to_expiry: int,
    *,
    side: Side = Side.BUY,
) -> int | None:
    """Index into `chain` of the contract to trade, or None if no contract is eligible.

    Eligible: the requested right, not expired, a finite delta, and a price to trade at on
    `side` (a positive ask to buy, a positive bid to sell: nobody pays for a zero bid).
    First the expiry whose calendar days to expiry (from the chain's event time) is nearest
    `days_to_expiry`, the later one on a tie (more time value for the same distance); then at
    that expiry the strike whose |delta| is nearest `target_delta`. On a delta tie the one more
    in the money wins: the lower strike for a call, the higher strike for a put.
    """
    quote = chain.bid if side == Side.SELL else chain.ask
    eligible = (
        (chain.is_call == is_call) & (chain.years > 0.0) & np.isfinite(chain.delta) & (quote > 0.0)
    )
    candidates = np.flatnonzero(eligible)
    if candidates.size == 0:
        return None
    expiry_ts = chain.expiry_ts[candidates]
    days_away = np.abs((expiry_ts - chain.ts) / MS_PER_DAY - days_to_expiry)
    nearest = days_away <= days_away.min() + _DAYS_TIE
    chosen_expiry = expiry_ts[nearest].max()
    at_expiry = candidates[expiry_ts == chosen_expiry]

    delta_away = np.abs(np.abs(chain.delta[at_expiry]) - target_delta)
    tied = at_expiry[delta_away <= delta_away.min() + _DELTA_TIE]
    strikes = chain.strike[tied]
    return int(tied[np.argmin(strikes) if is_call else np.argmax(strikes)])


def size_order(sizing: Sizing, price: float, multiplier: int, equity: float) -> int:
    """Whole units (shares, or contracts of `multiplier` shares) an entry buys or sells.

    `price` is per share in the quote currency, `equity` the account's equity in the same.
    fixed_quantity: `sizing.quantity`. fixed_notional: floor(notional / (price × multiplier)).
    equity_fraction: floor(fraction × equity / (price × multiplier)). Never negative, and 0
    when the price, the multiplier or the equity is not positive (or not finite).
    """
    tradable = math.isfinite(price) and price > 0.0 and multiplier > 0
    if not (tradable and math.isfinite(equity) and equity > 0.0):
        return 0
    if sizing.method == SizingMethod.FIXED_QUANTITY:
        return sizing.quantity
    if sizing.method == SizingMethod.FIXED_NOTIONAL:
        budget = sizing.notional
    else:
        budget = sizing.fraction * equity
    return max(0, math.floor(budget / (price * multiplier) + _UNITS_TIE))
