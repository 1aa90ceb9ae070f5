"""Multi-leg option orders (spreads): their combined quote, their fill (all legs or none), their
risk at expiry, and builders for verticals, straddles, strangles and iron condors.

Conventions:
- A spread is a tuple of legs (instrument, side, ratio); one unit of the spread holds `ratio`
  contracts of each leg. Every leg has the same expiry (calendars are not built here).
- Net prices are per spread unit, per share (before the 100x multiplier), in the quote
  currency: positive is a debit (paid to open), negative a credit (received).
- The combined quote: its ask is what opening costs at the touch (buy legs at their ask, sell
  legs at their bid), its bid what the same legs fetch when sold (buy legs at their bid, sell
  legs at their ask). Opening pays the ask; closing the spread is opening its `reversed()`.
- A spread fills as one, at one event time, or not at all: every leg needs a usable quote (not
  crossed, not locked with sizes, not older than `costs.max_quote_age_ms`: the single-leg rule
  `usable_quote`), a quote with sizes must cover the leg's whole quantity (ratio x units) on the
  side the leg takes (the ask's size for a bought leg, the bid's for a sold one), and a limit on
  the net price must be met by the net fill price. A spread never fills in part: a leg's part
  fill would leave a different position than the spread decided on. Each leg fills as a market order
  does in the paper broker: at its touch plus slippage, paying its own commission; a resting
  limit spread fills passively, each leg at its touch without slippage (as a single-leg limit
  does: the quote is the price improvement it gets).
Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from flows.trading.chain import Chain
from flows.trading.orders import usable_quote
from flows.trading.paper_broker import commission, market_fill_price, on_price_grid
from flows.trading.selection import select_option
from schemas.common import AssetClass, Side
from schemas.config import Costs

_STRIKE_TIE = 1e-9  # strikes closer than this are the same strike


def _sign(side: Side) -> int:
    return 1 if side == Side.BUY else -1


def _flip(side: Side) -> Side:
    return Side.SELL if side == Side.BUY else Side.BUY


@dataclass(frozen=True, slots=True)
class SpreadLeg:
    """One leg: `ratio` contracts of `instrument` per spread unit, bought or sold. `row` is its
    index in the chain it was built from (-1 when it was not built from one)."""

    instrument: str
    side: Side
    ratio: int
    strike: float
    is_call: bool
    expiry_ts: int
    row: int = -1


@dataclass(frozen=True, slots=True)
class Spread:
    """A multi-leg order: `kind` names its shape (vertical, straddle, strangle, iron_condor)."""

    kind: str
    underlying: str
    legs: tuple[SpreadLeg, ...]

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError("a spread needs at least one leg")
        if any(leg.ratio < 1 for leg in self.legs):
            raise ValueError("leg ratios must be at least 1")
        if len({leg.expiry_ts for leg in self.legs}) != 1:
            raise ValueError("every leg of a spread must share one expiry")

    def reversed(self) -> Spread:
        """The order that closes this spread: every leg's side flipped."""
        return replace(self, legs=tuple(replace(leg, side=_flip(leg.side)) for leg in self.legs))


@dataclass(frozen=True, slots=True)
class LegQuote:
    """A leg's quote: bid and ask per share, the event time (UTC ms) it was quoted at, and the
    contracts quoted at the bid and at the ask (both None: a quote without sizes, a price)."""

    bid: float
    ask: float
    ts: int
    bid_size: int | None = None
    ask_size: int | None = None

    def size_for(self, side: Side) -> int | None:
        """The quoted size a leg on `side` takes from: the ask's for a buy, the bid's for a
        sell (None: no sizes)."""
        return self.ask_size if side == Side.BUY else self.bid_size


@dataclass(frozen=True, slots=True)
class CombinedQuote:
    """The spread's natural quote, per unit per share (see the module's conventions)."""

    bid: float
    ask: float


def combined_quote(spread: Spread, quotes: Sequence[LegQuote]) -> CombinedQuote:
    """The spread's natural bid and ask from its legs' quotes (aligned with `spread.legs`)."""
    bid = ask = 0.0
    for leg, quote in zip(spread.legs, quotes, strict=True):
        if leg.side == Side.BUY:
            ask += quote.ask * leg.ratio
            bid += quote.bid * leg.ratio
        else:
            ask -= quote.bid * leg.ratio
            bid -= quote.ask * leg.ratio
    return CombinedQuote(bid=bid, ask=ask)


@dataclass(frozen=True, slots=True)
class LegFill:
    """A leg's part of a spread fill: `quantity` contracts at `price` per share (slippage
    included, on the 0.0001 grid), paying `commission_cents`."""

    leg: SpreadLeg
    quantity: int
    price: float
    commission_cents: int


@dataclass(frozen=True, slots=True)
class SpreadFill:
    """Every leg of a spread filled at one event time `ts`, `quantity` spread units."""

    ts: int
    quantity: int
    legs: tuple[LegFill, ...]

    @property
    def net_price(self) -> float:
        """Net price per spread unit per share (positive paid, negative received)."""
        return sum(_sign(f.leg.side) * f.price * f.leg.ratio for f in self.legs)

    @property
    def commission_cents(self) -> int:
        return sum(f.commission_cents for f in self.legs)


def fill_spread(
    spread: Spread,
    quotes: Sequence[LegQuote],
    quantity: int,
    ts: int,
    costs: Costs,
    limit: float | None = None,
    *,
    passive: bool = False,
    cover: bool = True,
) -> SpreadFill | str:
    """Fill `quantity` units of `spread` at `ts` against its legs' quotes, all or none.

    Returns the fill, or why nothing filled: a leg's unusable quote or short quoted size
    (named), or a `limit` (net price per unit per share, positive a debit) that the net fill
    price does not meet, i.e. net > limit: a debit costs more, or a credit brings in less, than
    the limit allows. `passive` fills each leg at its touch without slippage (a resting limit
    spread). `cover=False` takes no notice of quoted sizes (the kill switch, which flattens at
    the last quotes whatever their sizes, as it does a single position).
    """
    if quantity < 1:
        return f"a spread needs a quantity of at least 1, not {quantity}"
    for leg, quote in zip(spread.legs, quotes, strict=True):
        problem = _leg_problem(leg, quote, quantity * leg.ratio, ts, costs, cover)
        if problem:
            return f"leg {leg.instrument}: {problem}"
    legs = tuple(
        LegFill(
            leg=leg,
            quantity=quantity * leg.ratio,
            price=_leg_price(leg.side, quote, costs, passive),
            commission_cents=commission(AssetClass.OPTION, quantity * leg.ratio, costs),
        )
        for leg, quote in zip(spread.legs, quotes, strict=True)
    )
    filled = SpreadFill(ts=ts, quantity=quantity, legs=legs)
    if limit is not None and filled.net_price > limit + 1e-9:
        return f"net price {filled.net_price:,.4f} does not meet the limit {limit:,.4f}"
    return filled


def _leg_problem(
    leg: SpreadLeg, quote: LegQuote, needed: int, ts: int, costs: Costs, cover: bool
) -> str:
    """Why `leg` cannot fill `needed` contracts against `quote` at `ts` ('' when it can)."""
    sized = quote.bid_size is not None
    problem = usable_quote(quote.bid, quote.ask, quote.ts, ts, costs.max_quote_age_ms, sized)
    if problem or not cover:
        return problem
    size = quote.size_for(leg.side)
    if size is not None and size < needed:
        touch = "ask" if leg.side == Side.BUY else "bid"
        return f"{size:,} quoted at the {touch}, {needed:,} needed (all legs fill or none)"
    return ""


def _leg_price(side: Side, quote: LegQuote, costs: Costs, passive: bool) -> float:
    if passive:
        return on_price_grid(quote.ask if side == Side.BUY else quote.bid)
    return market_fill_price(side, quote.bid, quote.ask, costs)


# --- risk at expiry ----------------------------------------------------------------------------


def expiry_payoff(spread: Spread, spot: float) -> float:
    """What one spread unit is worth per share at expiry with the underlying at `spot`."""
    value = 0.0
    for leg in spread.legs:
        intrinsic = max(spot - leg.strike, 0.0) if leg.is_call else max(leg.strike - spot, 0.0)
        value += _sign(leg.side) * leg.ratio * intrinsic
    return value


def max_loss(spread: Spread, net_price: float) -> float | None:
    """The most one unit opened at `net_price` can lose at expiry, per share (>= 0), or None
    when the loss is unbounded (more calls sold than bought).

    The payoff is piecewise linear in the spot with kinks at the strikes, so its minimum is at
    0, at a strike, or (if the calls' net slope is negative) at an unbounded spot.
    """
    slope_far = sum(_sign(leg.side) * leg.ratio for leg in spread.legs if leg.is_call)
    if slope_far < 0:
        return None
    spots = [0.0, *(leg.strike for leg in spread.legs)]
    worst = min(expiry_payoff(spread, spot) for spot in spots)
    return max(net_price - worst, 0.0)


# --- builders ----------------------------------------------------------------------------------


def _leg(chain: Chain, row: int, side: Side) -> SpreadLeg:
    return SpreadLeg(
        instrument=chain.contracts[row],
        side=side,
        ratio=1,
        strike=float(chain.strike[row]),
        is_call=bool(chain.is_call[row]),
        expiry_ts=int(chain.expiry_ts[row]),
        row=row,
    )


def _tradable(chain: Chain, side: Side) -> np.ndarray:
    """Rows that can be traded on `side`: not expired, and a positive touch to trade at."""
    touch = chain.ask if side == Side.BUY else chain.bid
    return (chain.years > 0.0) & (touch > 0.0)


def wing_row(chain: Chain, anchor: int, width: float, side: Side) -> int | None:
    """The row `width` further out of the money than `anchor` (lower strike for a put, higher
    for a call), same expiry and right, tradable on `side`: the listed strike nearest
    anchor ± width, strictly beyond the anchor; on a tie the nearer the anchor. None if none."""
    is_call = bool(chain.is_call[anchor])
    strike = float(chain.strike[anchor])
    beyond = chain.strike > strike + _STRIKE_TIE if is_call else chain.strike < strike - _STRIKE_TIE
    rows = np.flatnonzero(
        (chain.expiry_ts == chain.expiry_ts[anchor])
        & (chain.is_call == is_call)
        & beyond
        & _tradable(chain, side)
    )
    if rows.size == 0:
        return None
    target = strike + width if is_call else strike - width
    distance = np.abs(chain.strike[rows] - target)
    tied = rows[distance <= distance.min() + _STRIKE_TIE]
    nearest_anchor = np.abs(chain.strike[tied] - strike)
    return int(tied[np.argmin(nearest_anchor)])


def vertical(
    chain: Chain,
    is_call: bool,
    target_delta: float,
    days_to_expiry: int,
    width: float,
    *,
    credit: bool,
) -> Spread | None:
    """A vertical: the contract `select_option` picks (sold for a credit spread, bought for a
    debit one) and the wing `width` further out of the money on the other side."""
    near_side = Side.SELL if credit else Side.BUY
    anchor = select_option(chain, is_call, target_delta, days_to_expiry, side=near_side)
    if anchor is None:
        return None
    wing = wing_row(chain, anchor, width, _flip(near_side))
    if wing is None:
        return None
    legs = (_leg(chain, anchor, near_side), _leg(chain, wing, _flip(near_side)))
    return Spread("vertical", chain.underlying, legs)


def _partner(chain: Chain, row: int, is_call: bool, strike: float, side: Side) -> int | None:
    """The row of the other right at `row`'s expiry whose strike is nearest `strike`."""
    rows = np.flatnonzero(
        (chain.expiry_ts == chain.expiry_ts[row])
        & (chain.is_call == is_call)
        & _tradable(chain, side)
    )
    if rows.size == 0:
        return None
    distance = np.abs(chain.strike[rows] - strike)
    return int(rows[np.argmin(distance)])


def straddle(chain: Chain, days_to_expiry: int, side: Side) -> Spread | None:
    """A call and a put at the strike nearest the money (the call whose delta is nearest 0.5,
    and the put of its strike), both bought or both sold."""
    call = select_option(chain, True, 0.5, days_to_expiry, side=side)
    if call is None:
        return None
    put = _partner(chain, call, False, float(chain.strike[call]), side)
    if put is None or abs(float(chain.strike[put]) - float(chain.strike[call])) > _STRIKE_TIE:
        return None
    return Spread("straddle", chain.underlying, (_leg(chain, call, side), _leg(chain, put, side)))


def strangle(chain: Chain, target_delta: float, days_to_expiry: int, side: Side) -> Spread | None:
    """An out-of-the-money call and put, each the contract of |delta| nearest `target_delta`,
    at one expiry (None if the two rights' picks land on different expiries)."""
    call = select_option(chain, True, target_delta, days_to_expiry, side=side)
    put = select_option(chain, False, target_delta, days_to_expiry, side=side)
    if call is None or put is None or chain.expiry_ts[call] != chain.expiry_ts[put]:
        return None
    return Spread("strangle", chain.underlying, (_leg(chain, put, side), _leg(chain, call, side)))


def iron_condor(
    chain: Chain, target_delta: float, days_to_expiry: int, width: float
) -> Spread | None:
    """A short put vertical and a short call vertical at one expiry (sold for a credit): the
    put and the call of |delta| nearest `target_delta` sold, each with its wing `width` further
    out bought. None if either side cannot be built, they land on different expiries, or the
    sold put's strike is above the sold call's."""
    puts = vertical(chain, False, target_delta, days_to_expiry, width, credit=True)
    calls = vertical(chain, True, target_delta, days_to_expiry, width, credit=True)
    if puts is None or calls is None:
        return None
    if puts.legs[0].expiry_ts != calls.legs[0].expiry_ts:
        return None
    if puts.legs[0].strike > calls.legs[0].strike + _STRIKE_TIE:
        return None
    return Spread("iron_condor", chain.underlying, (*puts.legs, *calls.legs))
