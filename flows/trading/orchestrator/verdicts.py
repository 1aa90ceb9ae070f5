"""What the rules judge and what they answer: an order, the account's view, the verdict.

Also how a value meets its limit: inclusive, forgiving binary floating-point noise (relative
1e-12), and shown with enough decimals to read differently from its limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from schemas.common import Side, TradingStatus

ACCOUNT: Final = ""  # the scope of a guard's lock on the whole account

# Relative slack when comparing a float to its limit: far below a cent on any realistic order,
# far above the few ulps that products and sums of cent prices pick up in binary floating point.
REL_TOL: Final = 1e-12


@dataclass(frozen=True, slots=True)
class Verdict:
    """The orchestrator's answer to one order.

    `rule` is "ok" when approved, else the rule that rejected; `observed` is the value that rule
    compared and `limit` what it compared against, in the rule's own unit (see `decide`).
    Approved verdicts carry observed = limit = 0.
    """

    approved: bool
    rule: str
    observed: float
    limit: float
    reason: str

    @classmethod
    def sized_out(cls, reason: str) -> Verdict:
        """An order that sizing left empty: refused before any rule sees it."""
        return cls(approved=False, rule="position_size", observed=0.0, limit=1.0, reason=reason)


# OrderIntent and RiskView are built for every order: plain slotted records, not frozen ones,
# whose __init__ costs about ten times as much (each field through object.__setattr__).
@dataclass(slots=True)
class OrderIntent:
    """An order the strategy wants, before risk.

    ts: event time, UTC ms. price: reference price per unit before the multiplier.
    multiplier: 1 for shares, 100 for option contracts. strength: the signal's, in [0, 1].
    opens: True if the order opens or increases exposure, False if it only reduces or closes.
    delta: change of the account's net delta (shares-equivalent, signed).
    vega: change of the account's net vega (currency per 1.00 of volatility, signed).
    """

    ts: int
    symbol: str
    instrument: str
    side: Side
    quantity: int
    price: float
    multiplier: int
    strength: float
    opens: bool
    delta: float
    vega: float


@dataclass(frozen=True, slots=True)
class Lock:
    """A guard's lock on `scope` (a symbol, or "" for the account) for start <= ts < until.

    observed and limit are the guard's values when it triggered (the table in `guards`), and
    `reason` says so in words.
    """

    rule: str
    scope: str
    start_ts: int
    until_ts: int
    observed: float
    limit: float
    reason: str


@dataclass(frozen=True, slots=True)
class ScenarioBook:
    """Positions to revalue, one row each, aligned arrays.

    underlying: each row's underlying symbol. spot: its underlying's mid (currency per share).
    units: signed shares-equivalent (quantity x multiplier; negative is short). option: True
    for an option row, whose strike (currency), years (ACT/365 to expiry), vol (annual) and
    is_call are read; a share row's are ignored. rate, dividend: continuous annual rates.
    """

    underlying: tuple[str, ...]
    spot: NDArray[np.float64]
    units: NDArray[np.float64]
    option: NDArray[np.bool_]
    strike: NDArray[np.float64]
    years: NDArray[np.float64]
    vol: NDArray[np.float64]
    is_call: NDArray[np.bool_]
    rate: float = 0.0
    dividend: float = 0.0


@dataclass(slots=True)
class RiskView:
    """The account just before the order, as the rules need it.

    Quantities are absolute shares or contracts; notional and equity are currency; net_delta
    is shares-equivalent, net_vega currency per 1.00 of volatility. last_entry_ts is the event
    time (UTC ms) of the last approved opening order on the order's symbol; recent_order_ts the
    event times of approved orders on any symbol (only the last minute matters).
    holds_same_direction: a position on the symbol already points the way this order opens.
    locks: the guards' locks on the order's symbol or the account (`guards`), maybe expired.
    scenario: the book after the order for `max_scenario_loss`, None when that rule is off.
    A figure that no rule to be run reads may be left at 0 by whoever builds the view (the
    account stage does, for the position figures of a closing order or of a limit that is off).
    """

    status: TradingStatus
    open_positions: int
    instrument_quantity: int
    symbol_quantity: int
    symbol_notional: float
    net_delta: float
    net_vega: float
    equity: float
    day_start_equity: float
    peak_equity: float
    last_entry_ts: int | None
    recent_order_ts: tuple[int, ...]
    holds_same_direction: bool
    locks: tuple[Lock, ...] = ()
    scenario: ScenarioBook | None = None


APPROVED: Final = Verdict(approved=True, rule="ok", observed=0.0, limit=0.0, reason="approved")


def past_limit(observed: float, limit: float) -> bool:
    """True when `observed` exceeds `limit` by more than floating-point noise."""
    return observed - limit > REL_TOL * abs(limit)


def distinct_figures(observed: float, limit: float, places: int = 2) -> tuple[str, str]:
    """Format both numbers with `places` decimals, adding decimals until they read differently.

    A rejection 0.004 past its limit must not read "10,000.00 exceeds 10,000.00".
    """
    shown_observed, shown_limit = f"{observed:,.{places}f}", f"{limit:,.{places}f}"
    while shown_observed == shown_limit and places < 12:
        places += 1
        shown_observed, shown_limit = f"{observed:,.{places}f}", f"{limit:,.{places}f}"
    return shown_observed, shown_limit


def reject(rule: str, observed: float, limit: float, reason: str) -> Verdict:
    return Verdict(
        approved=False, rule=rule, observed=float(observed), limit=float(limit), reason=reason
    )
