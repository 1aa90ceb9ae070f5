"""Positions, cash and realised PnL of one paper account, exact to the cent.

Conventions:
- Money (cash, cost basis, realised PnL, commissions) is held as integer cents, so sums of any
  length never drift. Functions named `*_cents` return cents; the others return currency.
- Prices are per unit in the quote currency and are booked on the 0.0001 grid of
  `flows.paper_broker.to_price_ticks`. An amount `price * units` is converted to cents once,
  rounded half up on its magnitude (half away from zero for signed values): 1 share at 10.0050
  costs 1001 cents, and selling it brings in 1001 cents.
- Average-cost accounting: a reducing fill removes a proportional share of the open position's
  cost basis (rounded half away from zero; the fill that closes the position removes whatever
  is left, so a flat position has exactly zero basis), and realised PnL is proceeds minus the
  removed basis. Entry commissions are carried on the holding the same way so that each
  closed round trip reports the commissions it caused.
- Time is the event's `ts` (UTC ms); nothing reads a clock.

`Book` and `Holding` are plain slotted dataclasses so that Bytewax can pickle them as state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from flows.paper_broker import (
    PRICE_SCALE,
    TICKS_PER_CENT,
    intrinsic_value,
    to_price_ticks,
)
from schemas.common import AssetClass, Direction, Side
from schemas.trading import Position, PositionSnapshot, Trade


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


@dataclass(frozen=True, slots=True)
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

    def to_trade(self, account_id: str) -> Trade:
        return Trade(
            account_id=account_id,
            instrument=self.instrument,
            underlying=self.underlying,
            direction=self.direction,
            quantity=self.quantity,
            entry_ts=self.entry_ts,
            exit_ts=self.exit_ts,
            entry_price=self.entry_price,
            exit_price=self.exit_price,
            pnl=self.pnl_cents / 100,
            commissions=self.commissions_cents / 100,
        )


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


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """What one fill did to the book.

    `price` is the price booked (on the 0.0001 grid): record it as `Fill.price`.
    `cash_delta_cents` is the cash change: -notional for buys, +notional for sells, minus the
    commission. `realised_cents` is the gross PnL of the quantity this fill closed.
    `net_realised_cents` subtracts this fill's whole commission, which is what
    `schemas.trading.Fill.realised_pnl` records ("net of this fill's commission"); an opening
    fill therefore realises minus its commission.
    """

    price: float
    cash_delta_cents: int
    realised_cents: int
    commission_cents: int
    trades: tuple[ClosedTrade, ...]

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


def apply_fill(
    book: Book,
    *,
    ts: int,
    instrument: str,
    underlying: str,
    asset_class: AssetClass,
    multiplier: int,
    side: Side,
    quantity: int,
    price: float,
    commission_cents: int,
    expiry_ts: int | None = None,
    strike: float | None = None,
    is_call: bool | None = None,
) -> FillOutcome:
    """Book a fill of `quantity` (> 0) units at `price` (currency per unit) into `book`.

    Mutates `book` in place and returns what changed. A fill against an open position first
    closes up to its size; the rest, if any, opens a position the other way at the fill price
    (long 100, sell 150: closes 100, opens short 50). When the fill is split like that, the
    notional and the commission are split pro rata, the opening part taking the remainder so
    that the parts add up to the whole to the cent. The option fields are stored when the fill
    opens a position and ignored otherwise.
    """
    ticks = to_price_ticks(price)
    booked_price = ticks / PRICE_SCALE
    step = 1 if side == Side.BUY else -1
    notional = _half_up(ticks * quantity * multiplier)
    cash_delta = -step * notional - commission_cents
    book.cash_cents += cash_delta
    book.commissions_cents += commission_cents

    realised = 0
    trades: tuple[ClosedTrade, ...] = ()
    closed = 0
    close_notional = 0
    close_commission = 0
    holding = book.holdings.get(instrument)
    if holding is not None and holding.quantity * step < 0:
        closed = min(quantity, abs(holding.quantity))
        close_notional = _half_up(ticks * closed * multiplier)
        close_commission = _pro_rata(commission_cents, closed, quantity)
        realised, trade = _close_part(
            holding, closed, close_notional, close_commission, ts, booked_price
        )
        trades = (trade,)
        book.realised_cents += realised
        book.closed_trades.append(trade)
        if holding.quantity == 0:
            del book.holdings[instrument]
            holding = None

    opened = quantity - closed
    if opened:
        open_notional = notional - close_notional
        open_commission = commission_cents - close_commission
        if holding is None:
            book.holdings[instrument] = Holding(
                instrument=instrument,
                underlying=underlying,
                asset_class=asset_class,
                multiplier=multiplier,
                quantity=step * opened,
                cost_basis_cents=step * open_notional,
                opened_ts=ts,
                expiry_ts=expiry_ts,
                strike=strike,
                is_call=is_call,
                entry_commission_cents=open_commission,
            )
        else:
            holding.quantity += step * opened
            holding.cost_basis_cents += step * open_notional
            holding.entry_commission_cents += open_commission

    return FillOutcome(
        price=booked_price,
        cash_delta_cents=cash_delta,
        realised_cents=realised,
        commission_cents=commission_cents,
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
    return apply_fill(
        book,
        ts=ts,
        instrument=instrument,
        underlying=holding.underlying,
        asset_class=holding.asset_class,
        multiplier=holding.multiplier,
        side=Side.SELL if holding.quantity > 0 else Side.BUY,
        quantity=abs(holding.quantity),
        price=value,
        commission_cents=0,
    )


def mark_value_cents(holding: Holding, mark: float) -> int:
    """Signed market value of `holding` at `mark` (currency per unit), in cents."""
    magnitude = _half_up(to_price_ticks(mark) * abs(holding.quantity) * holding.multiplier)
    return magnitude if holding.quantity > 0 else -magnitude


def market_value(holding: Holding, mark: float) -> float:
    """Signed market value of `holding` at `mark`, in currency (negative for shorts)."""
    return mark_value_cents(holding, mark) / 100


def unrealised_cents(holding: Holding, mark: float) -> int:
    """Unrealised PnL in cents: market value minus cost basis (both signed)."""
    return mark_value_cents(holding, mark) - holding.cost_basis_cents


def unrealised_pnl(holding: Holding, mark: float) -> float:
    """Unrealised PnL at `mark`, in currency."""
    return unrealised_cents(holding, mark) / 100


def equity_cents(book: Book, marks: Mapping[str, float]) -> int:
    """Cash plus every holding marked at `marks[instrument]`, in cents.

    Every holding needs a mark (currency per unit).
    """
    return book.cash_cents + sum(
        mark_value_cents(holding, marks[name]) for name, holding in book.holdings.items()
    )


def equity(book: Book, marks: Mapping[str, float]) -> float:
    """Account equity in currency: cash + sum of quantity * mark * multiplier, to the cent."""
    return equity_cents(book, marks) / 100


def equity_series(
    book: Book, marks: Mapping[str, npt.NDArray[np.float64]]
) -> npt.NDArray[np.float64]:
    """Equity in currency at each point of equally long arrays of marks, the book unchanged.

    This is how the account stage marks to market in bulk between events. Each point equals
    `equity(book, {name: marks[name][i]})` exactly: the same grid rounding and the same
    half-up cents, in int64 (exact while price ticks x units stays below 9.2e18, i.e. any
    realistic position). Every holding needs an array; arrays for instruments not held are
    ignored but still set the length, so a flat book returns its cash at every point.
    """
    lengths = {len(values) for values in marks.values()}
    if len(lengths) > 1:
        raise ValueError(f"mark arrays differ in length: {sorted(lengths)}")
    total = np.full(lengths.pop() if lengths else 0, book.cash_cents, dtype=np.int64)
    for name, holding in book.holdings.items():
        ticks = np.rint(np.asarray(marks[name], dtype=np.float64) * PRICE_SCALE).astype(np.int64)
        units = abs(holding.quantity) * holding.multiplier
        value = (ticks * units + TICKS_PER_CENT // 2) // TICKS_PER_CENT
        if holding.quantity > 0:
            total += value
        else:
            total -= value
    result: npt.NDArray[np.float64] = total / 100
    return result


@dataclass(frozen=True, slots=True)
class PositionGreeks:
    """Greeks of a whole position in currency terms (delta in shares, vega per 1.00 of vol,
    theta per year), as `schemas.trading.PositionSnapshot` records them."""

    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0


_NO_GREEKS = PositionGreeks()


def positions(book: Book, account_id: str, marks: Mapping[str, float]) -> list[Position]:
    """Open positions marked at `marks`, sorted by instrument.

    `mark_price` is the mark on the 0.0001 grid that the valuation used; `realised_pnl` is the
    gross PnL realised by partial closes of the open position.
    """
    rows = []
    for name in sorted(book.holdings):
        holding = book.holdings[name]
        mark = marks[name]
        rows.append(
            Position(
                account_id=account_id,
                instrument=name,
                underlying=holding.underlying,
                asset_class=holding.asset_class,
                quantity=holding.quantity,
                multiplier=holding.multiplier,
                avg_price=holding.avg_price,
                mark_price=to_price_ticks(mark) / PRICE_SCALE,
                market_value=market_value(holding, mark),
                unrealised_pnl=unrealised_pnl(holding, mark),
                realised_pnl=holding.realised_cents / 100,
            )
        )
    return rows


def snapshot_rows(
    book: Book,
    *,
    run_id: str,
    account_id: str,
    ts: int,
    marks: Mapping[str, float],
    greeks: Mapping[str, PositionGreeks] | None = None,
) -> list[PositionSnapshot]:
    """`position_snapshots` rows at event time `ts`: one per holding, then the account row.

    The account row has `instrument = ''` and carries the totals: market value, unrealised PnL,
    Greeks summed over holdings (meaningful for a single underlying), realised PnL of the whole
    run (gross of commissions, like `Book.realised_cents`), quantity 0. Every row carries the
    account's cash and equity. Greeks missing from `greeks` count as 0. `row_id` is
    `{account_id}:{ts}:{instrument or 'account'}`, so a replay writes the same ids.
    """
    greeks = greeks or {}
    cash = book.cash_cents / 100
    total_equity = equity(book, marks)
    rows = []
    value_total = unrealised_total = 0
    delta = gamma = vega = theta = 0.0
    for position in positions(book, account_id, marks):
        name = position.instrument
        position_greeks = greeks.get(name, _NO_GREEKS)
        value_total += mark_value_cents(book.holdings[name], marks[name])
        unrealised_total += unrealised_cents(book.holdings[name], marks[name])
        delta += position_greeks.delta
        gamma += position_greeks.gamma
        vega += position_greeks.vega
        theta += position_greeks.theta
        rows.append(
            PositionSnapshot(
                row_id=f"{account_id}:{ts}:{name}",
                run_id=run_id,
                account_id=account_id,
                ts=ts,
                instrument=name,
                underlying=position.underlying,
                quantity=position.quantity,
                avg_price=position.avg_price,
                mark_price=position.mark_price,
                market_value=position.market_value,
                unrealised_pnl=position.unrealised_pnl,
                realised_pnl=position.realised_pnl,
                delta=position_greeks.delta,
                gamma=position_greeks.gamma,
                vega=position_greeks.vega,
                theta=position_greeks.theta,
                cash=cash,
                equity=total_equity,
            )
        )
    rows.append(
        PositionSnapshot(
            row_id=f"{account_id}:{ts}:account",
            run_id=run_id,
            account_id=account_id,
            ts=ts,
            instrument="",
            underlying="",
            quantity=0,
            avg_price=0.0,
            mark_price=0.0,
            market_value=value_total / 100,
            unrealised_pnl=unrealised_total / 100,
            realised_pnl=book.realised_cents / 100,
            delta=delta,
            gamma=gamma,
            vega=vega,
            theta=theta,
            cash=cash,
            equity=total_equity,
        )
    )
    return rows
