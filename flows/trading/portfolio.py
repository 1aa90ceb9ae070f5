"""Positions, cash and realised PnL of one paper account, exact to the cent.

Conventions:
- Money (cash, cost basis, realised PnL, commissions) is held as integer cents, so sums of any
  length never drift. Functions named `*_cents` return cents; the others return currency.
- Prices are per unit in the quote currency and are booked on the 0.0001 grid of
  `flows.trading.paper_broker.to_price_ticks`. An amount `price * units` is converted to cents once,
  rounded half up on its magnitude (half away from zero for signed values): 1 share at 10.0050
  costs 1001 cents, and selling it brings in 1001 cents.
- Average-cost accounting: a reducing fill removes a proportional share of the open position's
  cost basis (rounded half away from zero; the fill that closes the position removes whatever
  is left, so a flat position has exactly zero basis), and realised PnL is proceeds minus the
  removed basis. Entry commissions are carried on the holding the same way so that each
  closed round trip reports the commissions it caused.
- Time is the event's `ts` (UTC ms); nothing reads a clock.
- A fill is booked from one `FillRequest`, whoever asks: an account's leg, a holding closed at
  expiry, or a stored `fills` row booked again.

`Book` and `Holding` are plain slotted dataclasses so that Bytewax can pickle them as state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from flows.trading.chain import ChainParams, expiry_ts_ms, parse_occ_symbol
from flows.trading.paper_broker import (
    PRICE_SCALE,
    TICKS_PER_CENT,
    intrinsic_value,
    to_price_ticks,
)
from schemas.common import AssetClass, Direction, Side, money
from schemas.trading import Fill, Trade


def _half_up(ticks_times_units: int) -> int:
    """Grid ticks x units (>= 0) as cents, rounded half up."""
    return (ticks_times_units + TICKS_PER_CENT // 2) // TICKS_PER_CENT


def _pro_rata(amount: int, part: int, whole: int) -> int:
    """`amount * part / whole` in whole cents, rounded half away from zero (0 < part <= whole).

    Exact integer arithmetic, so `part == whole` returns `amount` itself.
    """
    magnitude = (2 * abs(amount) * part + whole) // (2 * whole)
    return magnitude if amount >= 0 else -magnitude


def notional_cents(price: float, quantity: int, multiplier: int) -> int:
    """`price * quantity * multiplier` in cents (> 0), with the price on the 0.0001 grid."""
    return _half_up(to_price_ticks(price) * quantity * multiplier)


# ClosedTrade, FillRequest and FillOutcome are made for every fill: plain slotted records, not
# frozen ones, whose __init__ costs about ten times as much (each field through
# object.__setattr__). Nothing changes them once made.
@dataclass(slots=True)
class ClosedTrade:
    """One round trip (or the part of one that a fill closed), as `schemas.trading.Trade`.

    `entry_price` is the position's average entry price when the fill closed it (the basis
    removed is that price times the units, to the cent), `exit_price` the closing fill's booked
    price, both per unit in currency.
    `pnl_cents` is net of `commissions_cents`: the entry commissions attributable to the closed
    quantity (pro rata) plus the closing fill's commission on it (pro rata when the fill also
    opened a new position). Gross realised PnL is `pnl_cents + commissions_cents`.
    """

    instrument: str
    underlying: str
    direction: Direction
    quantity: int
    entry_ts: int
    exit_ts: int
    entry_price: float
    exit_price: float
    pnl_cents: int
    commissions_cents: int

    def trade_fields(self, account_id: str) -> dict[str, Any]:
        """The `Trade` row's fields (all but the exit reason, which the closing fill knows)."""
        return {
            "account_id": account_id,
            "instrument": self.instrument,
            "underlying": self.underlying,
            "direction": self.direction,
            "quantity": self.quantity,
            "entry_ts": self.entry_ts,
            "exit_ts": self.exit_ts,
            "entry_price": self.entry_price,
            "exit_price": self.exit_price,
            "pnl": money(self.pnl_cents),
            "commissions": money(self.commissions_cents),
        }

    def to_trade(self, account_id: str) -> Trade:
        return Trade(**self.trade_fields(account_id))


@dataclass(slots=True)
class Holding:
    """An open position in one instrument. Never flat: a closed position leaves the book.

    `quantity` is signed (negative is short), in shares or contracts. `cost_basis_cents` is the
    signed total cost of the open quantity: positive for a long (cash paid), negative for a
    short (cash received). `entry_commission_cents` are the commissions paid to open the
    quantity still held, carried so the closing trade can report them. `realised_cents` is the
    gross PnL that partial closes of this position have realised so far.
    """

    instrument: str
    underlying: str
    asset_class: AssetClass
    multiplier: int
    quantity: int
    cost_basis_cents: int
    opened_ts: int
    expiry_ts: int | None = None
    strike: float | None = None
    is_call: bool | None = None
    entry_commission_cents: int = 0
    realised_cents: int = 0

    @property
    def avg_price(self) -> float:
        """Average entry price per unit in currency (positive for longs and shorts alike)."""
        return self.cost_basis_cents / (self.quantity * self.multiplier) / 100


@dataclass(slots=True)
class Book:
    """The account: cash, open holdings and what has been realised.

    `realised_cents` is gross of commissions; `commissions_cents` is every commission paid.
    `closed_trades` lists every round trip in the order it closed; it grows with the run, so a
    long-lived live account should hand them off (for example to a sink) and clear the list.
    """

    cash_cents: int
    starting_cash_cents: int
    holdings: dict[str, Holding] = field(default_factory=dict)
    realised_cents: int = 0
    commissions_cents: int = 0
    closed_trades: list[ClosedTrade] = field(default_factory=list)


def new_book(starting_cash: float) -> Book:
    """An empty account holding `starting_cash` (currency, rounded half up to the cent)."""
    cents = _half_up(to_price_ticks(starting_cash))
    return Book(cash_cents=cents, starting_cash_cents=cents)


class TradedInstrument(Protocol):
    """What a fill trades: an instrument, its underlying, asset class and multiplier, and an
    option's terms (expiry UTC ms, strike in currency); a `Holding` is one, so is an account's
    leg."""

    @property
    def instrument(self) -> str: ...
    @property
    def underlying(self) -> str: ...
    @property
    def asset_class(self) -> AssetClass: ...
    @property
    def multiplier(self) -> int: ...
    @property
    def expiry_ts(self) -> int | None: ...
    @property
    def strike(self) -> float | None: ...
    @property
    def is_call(self) -> bool | None: ...


@dataclass(slots=True)
class FillRequest:
    """One fill to book: `quantity` (> 0) units of `instrument` bought or sold at `price`
    (currency per unit, put on the 0.0001 grid when booked), paying `commission_cents`, at event
    time `ts` (UTC ms). The option terms (`expiry_ts` UTC ms, `strike` in currency, `is_call`)
    are stored when the fill opens a position and ignored otherwise; None for equities."""

    ts: int
    instrument: str
    underlying: str
    asset_class: AssetClass
    multiplier: int
    side: Side
    quantity: int
    price: float
    commission_cents: int
    expiry_ts: int | None = None
    strike: float | None = None
    is_call: bool | None = None

    @classmethod
    def of(
        cls,
        traded: TradedInstrument,
        ts: int,
        side: Side,
        quantity: int,
        price: float,
        commission_cents: int,
    ) -> FillRequest:
        """A fill of `traded`, on its instrument's terms."""
        return cls(
            ts=ts,
            instrument=traded.instrument,
            underlying=traded.underlying,
            asset_class=traded.asset_class,
            multiplier=traded.multiplier,
            side=side,
            quantity=quantity,
            price=price,
            commission_cents=commission_cents,
            expiry_ts=traded.expiry_ts,
            strike=traded.strike,
            is_call=traded.is_call,
        )

    @classmethod
    def closing(cls, holding: Holding, ts: int, price: float, commission_cents: int) -> FillRequest:
        """The fill that closes the whole of `holding` at `price`."""
        side = Side.SELL if holding.quantity > 0 else Side.BUY
        return cls.of(holding, ts, side, abs(holding.quantity), price, commission_cents)

    @classmethod
    def from_row(cls, fill: Fill) -> FillRequest:
        """A stored `fills` row booked again: its booked price and commission (currency, back to
        cents); an option's terms from its OCC symbol, expiring at the default chain's close."""
        expiry_ts, strike, is_call = None, None, None
        if fill.multiplier != 1:
            _, expiry, is_call, strike = parse_occ_symbol(fill.instrument)
            expiry_ts = expiry_ts_ms(expiry, ChainParams())
        return cls(
            ts=fill.ts,
            instrument=fill.instrument,
            underlying=fill.underlying,
            asset_class=fill.asset_class,
            multiplier=fill.multiplier,
            side=Side(fill.side),
            quantity=fill.quantity,
            price=fill.price,
            commission_cents=round(fill.commission * 100),
            expiry_ts=expiry_ts,
            strike=strike,
            is_call=is_call,
        )


@dataclass(slots=True)
class FillOutcome:
    """What one fill did to the book.

    `request` is the fill as asked for. `price` is the price booked (on the 0.0001 grid):
    record it as `Fill.price`.
    `cash_delta_cents` is the cash change: -notional for buys, +notional for sells, minus the
    commission. `realised_cents` is the gross PnL of the quantity this fill closed.
    `net_realised_cents` subtracts this fill's whole commission, which is what
    `schemas.trading.Fill.realised_pnl` records ("net of this fill's commission"); an opening
    fill therefore realises minus its commission.
    """

    request: FillRequest
    price: float
    cash_delta_cents: int
    realised_cents: int
    trades: tuple[ClosedTrade, ...]

    @property
    def commission_cents(self) -> int:
        return self.request.commission_cents

    @property
    def net_realised_cents(self) -> int:
        return self.realised_cents - self.commission_cents


def _close_part(
    holding: Holding,
    closed: int,
    close_notional: int,
    close_commission: int,
    ts: int,
    exit_price: float,
) -> tuple[int, ClosedTrade]:
    """Reduce `holding` by `closed` units; return the gross realised cents and the round trip."""
    open_quantity = abs(holding.quantity)
    sign = 1 if holding.quantity > 0 else -1
    entry_price = holding.avg_price
    # Closing everything takes the pro-rata share whole / whole, which is exactly the remainder:
    # rounding earlier pieces cannot leave a stray cent of basis on a flat position.
    removed_basis = _pro_rata(holding.cost_basis_cents, closed, open_quantity)
    removed_commission = _pro_rata(holding.entry_commission_cents, closed, open_quantity)
    # A long sells for +notional against a positive basis; a short buys back for -notional
    # against a negative one: the same expression covers both.
    realised = sign * close_notional - removed_basis
    holding.quantity -= sign * closed
    holding.cost_basis_cents -= removed_basis
    holding.entry_commission_cents -= removed_commission
    holding.realised_cents += realised
    commissions = removed_commission + close_commission
    trade = ClosedTrade(
        instrument=holding.instrument,
        underlying=holding.underlying,
        direction=Direction.LONG if sign > 0 else Direction.SHORT,
        quantity=closed,
        entry_ts=holding.opened_ts,
        exit_ts=ts,
        entry_price=entry_price,
        exit_price=exit_price,
        pnl_cents=realised - commissions,
        commissions_cents=commissions,
    )
    return realised, trade


def _open_part(
    book: Book,
    holding: Holding | None,
    fill: FillRequest,
    units: int,
    basis_cents: int,
    commission_cents: int,
) -> None:
    """Add `units` (signed) costing `basis_cents` (signed) and `commission_cents` to the
    instrument's holding, or open one at this fill's time with its option terms."""
    if holding is None:
        book.holdings[fill.instrument] = Holding(
            instrument=fill.instrument,
            underlying=fill.underlying,
            asset_class=fill.asset_class,
            multiplier=fill.multiplier,
            quantity=units,
            cost_basis_cents=basis_cents,
            opened_ts=fill.ts,
            expiry_ts=fill.expiry_ts,
            strike=fill.strike,
            is_call=fill.is_call,
            entry_commission_cents=commission_cents,
        )
    else:
        holding.quantity += units
        holding.cost_basis_cents += basis_cents
        holding.entry_commission_cents += commission_cents


def apply_fill(book: Book, fill: FillRequest) -> FillOutcome:
    """Book `fill` into `book`.

    Mutates `book` in place and returns what changed. A fill against an open position first
    closes up to its size; the rest, if any, opens a position the other way at the fill price
    (long 100, sell 150: closes 100, opens short 50). When the fill is split like that, the
    notional and the commission are split pro rata, the opening part taking the remainder so
    that the parts add up to the whole to the cent. The option terms are stored when the fill
    opens a position and ignored otherwise.
    """
    ticks = to_price_ticks(fill.price)
    booked_price = ticks / PRICE_SCALE
    step = 1 if fill.side == Side.BUY else -1
    notional = _half_up(ticks * fill.quantity * fill.multiplier)
    cash_delta = -step * notional - fill.commission_cents
    book.cash_cents += cash_delta
    book.commissions_cents += fill.commission_cents

    realised = 0
    trades: tuple[ClosedTrade, ...] = ()
    closed = 0
    close_notional = 0
    close_commission = 0
    holding = book.holdings.get(fill.instrument)
    if holding is not None and holding.quantity * step < 0:
        closed = min(fill.quantity, abs(holding.quantity))
        close_notional = _half_up(ticks * closed * fill.multiplier)
        close_commission = _pro_rata(fill.commission_cents, closed, fill.quantity)
        realised, trade = _close_part(
            holding, closed, close_notional, close_commission, fill.ts, booked_price
        )
        trades = (trade,)
        book.realised_cents += realised
        book.closed_trades.append(trade)
        if holding.quantity == 0:
            del book.holdings[fill.instrument]
            holding = None

    opened = fill.quantity - closed
    if opened:
        open_notional = notional - close_notional
        open_commission = fill.commission_cents - close_commission
        _open_part(book, holding, fill, step * opened, step * open_notional, open_commission)

    return FillOutcome(
        request=fill,
        price=booked_price,
        cash_delta_cents=cash_delta,
        realised_cents=realised,
        trades=trades,
    )


def expiring(book: Book, ts: int) -> list[str]:
    """Instruments held whose expiry is at or before `ts` (UTC ms), sorted for determinism."""
    return sorted(
        name
        for name, holding in book.holdings.items()
        if holding.expiry_ts is not None and holding.expiry_ts <= ts
    )


def settle_expiry(book: Book, instrument: str, underlying_price: float, ts: int) -> FillOutcome:
    """Close an expiring option position at its intrinsic value, without commission.

    Settlement is in cash, as for index options: a long in the money receives the intrinsic
    value times the units, a short pays it, and out of the money the position closes at 0 (the
    long loses its premium, the short keeps it). No shares are delivered, so an exercised
    equity option does not leave a stock position behind. `underlying_price` is the
    underlying's price at expiry (currency per share).
    """
    holding = book.holdings[instrument]
    if holding.strike is None or holding.is_call is None:
        raise ValueError(f"{instrument} is not an option; only options settle at expiry")
    value = intrinsic_value(holding.is_call, holding.strike, underlying_price)
    return apply_fill(book, FillRequest.closing(holding, ts, value, 0))
