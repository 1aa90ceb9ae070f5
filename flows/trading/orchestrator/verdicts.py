"""What the rules judge and what they answer: an order, the account's view, the verdict.

Also how a value meets its limit: inclusive, forgiving binary floating-point noise (relative
1e-12), and shown with enough decimals to read differently from its limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas.common import Side, TradingStatus

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


@dataclass(frozen=True, slots=True)
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
class RiskView:
    """The account just before the order, as the rules need it.

    Quantities are absolute shares or contracts; notional and equity are currency; net_delta
    is shares-equivalent, net_vega currency per 1.00 of volatility. last_entry_ts is the event
    time (UTC ms) of the last approved opening order on the order's symbol; recent_order_ts the
    event times of approved orders on any symbol (only the last minute matters).
    holds_same_direction: a position on the symbol already points the way this order opens.
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
