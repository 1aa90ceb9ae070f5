"""Portfolio accounting: cash, cost basis, realised PnL and round trips, exact to the cent."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.paper_broker import commission, market_fill_price
from flows.trading.portfolio import (
    Book,
    FillOutcome,
    FillRequest,
    apply_fill,
    expiring,
    new_book,
    settle_expiry,
)
from flows.trading.valuation import (
    equity,
    equity_cents,
    equity_series,
    mark_value_cents,
    market_value,
    unrealised_cents,
    unrealised_pnl,
)
from schemas.common import AssetClass, Direction, Side
from schemas.config import Costs
from tests.flows.trading.books import CALL, CONTRACTS, EXPIRY, PUT, TS, fill


def cents_of(price_ticks: int, units: int) -> int:
    """The oracle: price (in 0.0001 steps) times units in cents, half up, in decimal."""
    exact = Decimal(price_ticks) / 10_000 * units * 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- worked examples


def test_hand_worked_round_trip_with_slippage_and_commission() -> None:
    """Costs: 2 bps + 1 tick of 0.01 slippage, 0.005 per share with a 1.00 minimum.

    Buy 300 AAPL, quote 99.98 / 100.02:
      price      = 100.02 + 100.02 * 0.0002 + 0.01 = 100.050004 -> 100.0500 on the grid
      notional   = 100.05 * 300 = 30,015.00
      commission = max(1.00, 0.005 * 300) = 1.50
      cash       = 100,000.00 - 30,015.00 - 1.50 = 69,983.50
    Sell 300 AAPL, quote 101.00 / 101.04:
      price      = 101.00 - (101.00 * 0.0002 + 0.01) = 100.9698
      proceeds   = 100.9698 * 300 = 30,290.94
      realised   = 30,290.94 - 30,015.00 = 275.94 (gross)
      fill's net = 275.94 - 1.50 = 274.44
      trade pnl  = 275.94 - 1.50 - 1.50 = 272.94, commissions 3.00
      cash       = 69,983.50 + 30,290.94 - 1.50 = 100,272.94
    """
    costs = Costs(
        slippage_bps=2.0,
        slippage_ticks=1,
        tick_size=0.01,
        commission_per_share=0.005,
        min_commission=1.0,
    )
    aapl = CONTRACTS[0]
    book = new_book(100_000.0)

    buy_price = market_fill_price(Side.BUY, 99.98, 100.02, costs)
    bought = fill(book, aapl, Side.BUY, 300, buy_price, commission(aapl.asset_class, 300, costs))
    assert bought.price == 100.05
    assert bought.commission_cents == 150
    assert bought.cash_delta_cents == -3_001_650
    assert bought.realised_cents == 0
    assert bought.net_realised_cents == -150
    assert book.cash_cents == 6_998_350
    assert book.holdings["AAPL"].cost_basis_cents == 3_001_500
    assert book.holdings["AAPL"].avg_price == 100.05

    sell_price = market_fill_price(Side.SELL, 101.00, 101.04, costs)
    sold = fill(book, aapl, Side.SELL, 300, sell_price, commission(aapl.asset_class, 300, costs))
    assert sold.price == 100.9698
    assert sold.realised_cents == 27_594
    assert sold.net_realised_cents == 27_444
    assert book.cash_cents == 10_027_294
    assert book.holdings == {}
    (trade,) = sold.trades
    assert trade.pnl_cents == 27_294
    assert trade.commissions_cents == 300
    assert (trade.direction, trade.quantity, trade.entry_price, trade.exit_price) == (
        Direction.LONG,
        300,
        100.05,
        100.9698,
    )
    record = trade.to_trade("acct-1")
    assert (record.pnl, record.commissions) == (272.94, 3.0)


def test_notional_rounds_half_up_to_the_cent() -> None:
    book = new_book(1_000.0)
    outcome = fill(book, CONTRACTS[0], Side.BUY, 1, 10.005)  # 1000.5 cents -> 1001
    assert outcome.cash_delta_cents == -1_001
    outcome = fill(book, CONTRACTS[0], Side.SELL, 1, 10.005)
    assert outcome.cash_delta_cents == 1_001
    assert outcome.realised_cents == 0


def test_partial_closes_remove_basis_pro_rata_and_the_last_unit_takes_the_rest() -> None:
    """Buy 3 at 3.3333: basis 9.9999 -> 1000 cents. Sell 1 at 4.00 three times:
    removed 1000/3 = 333.3 -> 333 (realised 400 - 333 = 67), then 667/2 = 333.5 -> 334
    (realised 66), then the remaining 333 (realised 67): 200 cents in all, 1200 - 1000."""
    book = new_book(1_000.0)
    fill(book, CONTRACTS[0], Side.BUY, 3, 3.3333)
    assert book.holdings["AAPL"].cost_basis_cents == 1_000
    realised = [fill(book, CONTRACTS[0], Side.SELL, 1, 4.0).realised_cents for _ in range(3)]
    assert realised == [67, 66, 67]
    assert book.holdings == {}
    assert book.realised_cents == 200


def test_short_position_profits_when_bought_back_lower() -> None:
    """Sell 10 at 20.00 (basis -200.00), buy back 4 at 18.00: the 4 carry -80.00 of basis and
    cost 72.00, realising +8.00; 6 remain short with basis -120.00, average 20.00."""
    book = new_book(10_000.0)
    fill(book, CONTRACTS[1], Side.SELL, 10, 20.0, commission_cents=100)
    holding = book.holdings["MSFT"]
    assert (holding.quantity, holding.cost_basis_cents, holding.avg_price) == (-10, -20_000, 20.0)
    outcome = fill(book, CONTRACTS[1], Side.BUY, 4, 18.0, commission_cents=100)
    assert outcome.realised_cents == 800
    assert (holding.quantity, holding.cost_basis_cents, holding.avg_price) == (-6, -12_000, 20.0)
    (trade,) = outcome.trades
    # entry commission 1.00 * 4/10 = 0.40, plus the exit's 1.00
    assert (trade.direction, trade.commissions_cents, trade.pnl_cents) == (
        Direction.SHORT,
        140,
        660,
    )
    assert market_value(holding, 19.0) == -114.0
    assert unrealised_pnl(holding, 19.0) == 6.0


def test_fill_through_zero_closes_then_opens_the_other_way() -> None:
    """Long 100 at 10.00 (commission 1.00); sell 150 at 11.00 (commission 1.50).
    The 100 closed realise 1100.00 - 1000.00 = 100.00; the fill's commission splits 1.00 to the
    close and 0.50 to the new short 50, whose basis is -550.00 and opening time this fill's.
    Trade: pnl 100.00 - 1.00 - 1.00 = 98.00. Cash: 10,000 - 1,000 - 1 + 1,650 - 1.50."""
    book = new_book(10_000.0)
    fill(book, CONTRACTS[0], Side.BUY, 100, 10.0, commission_cents=100, ts=TS)
    outcome = fill(book, CONTRACTS[0], Side.SELL, 150, 11.0, commission_cents=150, ts=TS + 5)
    assert outcome.realised_cents == 10_000
    assert outcome.net_realised_cents == 9_850
    (trade,) = outcome.trades
    assert (trade.quantity, trade.pnl_cents, trade.commissions_cents) == (100, 9_800, 200)
    assert (trade.entry_ts, trade.exit_ts) == (TS, TS + 5)
    short = book.holdings["AAPL"]
    assert (short.quantity, short.cost_basis_cents, short.entry_commission_cents) == (
        -50,
        -55_000,
        50,
    )
    assert short.opened_ts == TS + 5
    assert book.cash_cents == 1_064_750
    assert equity_cents(book, {"AAPL": 11.0}) - book.starting_cash_cents == 10_000 - 250


def test_long_call_expiring_in_the_money_settles_at_intrinsic_value() -> None:
    """Buy 2 calls (strike 150) at 3.00 for 600.00 plus 1.30 commission. At expiry the
    underlying is 155.00: intrinsic 5.00, cash +1,000.00, realised +400.00, trade pnl 398.70."""
    book = new_book(10_000.0)
    fill(book, CONTRACTS[2], Side.BUY, 2, 3.0, commission_cents=130)
    assert expiring(book, EXPIRY - 1) == []
    assert expiring(book, EXPIRY) == [CALL]
    cash_before = book.cash_cents
    outcome = settle_expiry(book, CALL, 155.0, EXPIRY)
    assert outcome.price == 5.0
    assert outcome.commission_cents == 0
    assert book.cash_cents - cash_before == 100_000
    assert outcome.realised_cents == 40_000
    assert outcome.trades[0].pnl_cents == 39_870
    assert book.holdings == {}


def test_long_call_expiring_out_of_the_money_loses_the_premium() -> None:
    book = new_book(10_000.0)
    fill(book, CONTRACTS[2], Side.BUY, 2, 3.0, commission_cents=130)
    cash_before = book.cash_cents
    outcome = settle_expiry(book, CALL, 149.99, EXPIRY)
    assert (outcome.price, book.cash_cents - cash_before) == (0.0, 0)
    assert outcome.realised_cents == -60_000
    assert outcome.trades[0].pnl_cents == -60_130
    assert outcome.trades[0].to_trade("acct-1").exit_price == 0.0


def test_short_put_expiring_in_the_money_pays_intrinsic_value() -> None:
    """Sell 1 put (strike 100) at 2.50: +250.00. Underlying 97.00 at expiry: intrinsic 3.00,
    the short pays 300.00, realising -50.00."""
    book = new_book(10_000.0)
    fill(book, CONTRACTS[3], Side.SELL, 1, 2.5)
    cash_before = book.cash_cents
    outcome = settle_expiry(book, PUT, 97.0, EXPIRY)
    assert book.cash_cents - cash_before == -30_000
    assert outcome.realised_cents == -5_000
    assert outcome.trades[0].direction == Direction.SHORT
    assert book.holdings == {}


def test_short_put_expiring_out_of_the_money_keeps_the_premium() -> None:
    book = new_book(10_000.0)
    fill(book, CONTRACTS[3], Side.SELL, 1, 2.5)
    cash_before = book.cash_cents
    outcome = settle_expiry(book, PUT, 100.0, EXPIRY)
    assert book.cash_cents == cash_before
    assert outcome.realised_cents == 25_000
    assert equity(book, {}) - 10_000.0 == 250.0


def test_only_options_settle_at_expiry() -> None:
    book = new_book(10_000.0)
    fill(book, CONTRACTS[0], Side.BUY, 1, 10.0)
    with pytest.raises(ValueError, match="not an option"):
        settle_expiry(book, "AAPL", 10.0, EXPIRY)


def test_book_survives_pickling_mid_position() -> None:
    book = new_book(10_000.0)
    fill(book, CONTRACTS[2], Side.BUY, 3, 1.25, commission_cents=195)
    fill(book, CONTRACTS[2], Side.SELL, 1, 1.5, commission_cents=100)
    restored = pickle.loads(pickle.dumps(book))
    assert restored == book
    assert restored.holdings[CALL].strike == 150.0
    fill(restored, CONTRACTS[2], Side.SELL, 2, 1.5)
    fill(book, CONTRACTS[2], Side.SELL, 2, 1.5)
    assert restored == book


def test_starting_cash_rounds_to_the_cent() -> None:
    assert new_book(100_000.005).cash_cents == 10_000_001
    assert new_book(2_500.0).starting_cash_cents == 250_000


def test_a_closing_request_closes_the_whole_holding_on_its_terms() -> None:
    """Short 3 puts at 2.50 (750.00 received); the closing request buys 3 back at 1.25."""
    book = new_book(10_000.0)
    fill(book, CONTRACTS[3], Side.SELL, 3, 2.5, commission_cents=195)
    request = FillRequest.closing(book.holdings[PUT], TS + 1, 1.25, 100)
    assert request == FillRequest(
        TS + 1, PUT, "AAPL", AssetClass.OPTION, 100, Side.BUY, 3, 1.25, 100, EXPIRY, 100.0, False
    )
    outcome = apply_fill(book, request)
    assert outcome.request is request
    assert (outcome.commission_cents, outcome.realised_cents) == (100, 37_500)
    assert book.holdings == {}


def test_equity_series_marks_in_bulk_without_touching_the_book() -> None:
    book = new_book(1_000.0)
    fill(book, CONTRACTS[0], Side.BUY, 3, 10.0)
    fill(book, CONTRACTS[3], Side.SELL, 1, 0.5)
    before = pickle.dumps(book)
    series = equity_series(
        book,
        {
            "AAPL": np.array([10.0, 10.0051, 9.5]),
            PUT: np.array([0.5, 0.4, 1.0]),
            "MSFT": np.ones(3),
        },
    )
    # cash 1,000 - 30 + 50 = 1,020; then + 3 x AAPL - 100 x PUT, each rounded to the cent:
    # 3 x 10.0051 = 30.0153 -> 30.02
    np.testing.assert_array_equal(
        series, [1_020.0 + 30.0 - 50.0, 1_020.0 + 30.02 - 40.0, 1_020.0 + 28.5 - 100.0]
    )
    assert pickle.dumps(book) == before
    assert equity_series(new_book(5.0), {"AAPL": np.zeros(2)}).tolist() == [5.0, 5.0]
    with pytest.raises(ValueError, match="differ in length"):
        equity_series(book, {"AAPL": np.ones(2), PUT: np.ones(3)})


# ---------------------------------------------------------------- properties

price_ticks = st.integers(min_value=100, max_value=2_000_000)  # 0.0100 .. 200.0000
orders = st.lists(
    st.tuples(
        st.sampled_from(range(len(CONTRACTS))),
        st.sampled_from(Side),
        st.integers(1, 400),
        price_ticks,
        st.integers(0, 500),  # commission, cents
        st.lists(price_ticks, min_size=len(CONTRACTS), max_size=len(CONTRACTS)),  # marks
    ),
    min_size=1,
    max_size=40,
)
closing_prices = st.lists(price_ticks, min_size=len(CONTRACTS), max_size=len(CONTRACTS))


@dataclass
class Ledger:
    """What the fills so far must have done to `book`, kept apart from the accounting."""

    book: Book
    start: int
    held: dict[str, int] = field(default_factory=lambda: {c.instrument: 0 for c in CONTRACTS})
    realised: int = 0
    net_realised: int = 0
    commissions: int = 0

    def fill_and_check(
        self,
        contract: FillRequest,
        side: Side,
        quantity: int,
        ticks: int,
        commission_cents: int,
        marks: list[int],
    ) -> None:
        """Book one fill, then check every invariant, marking each instrument at `marks`."""
        cash_before = self.book.cash_cents
        outcome = fill(self.book, contract, side, quantity, ticks / 10_000, commission_cents)
        self.check_cash_and_holdings(
            outcome, contract, side, quantity, ticks, commission_cents, cash_before
        )
        mark_by_name = {c.instrument: t / 10_000 for c, t in zip(CONTRACTS, marks, strict=True)}
        self.check_equity(mark_by_name)
        self.check_realised(outcome, contract, quantity, mark_by_name)

    def check_cash_and_holdings(
        self,
        outcome: FillOutcome,
        contract: FillRequest,
        side: Side,
        quantity: int,
        ticks: int,
        commission_cents: int,
        cash_before: int,
    ) -> None:
        book = self.book
        signed = quantity if side == Side.BUY else -quantity
        notional = cents_of(ticks, quantity * contract.multiplier)
        # cash moves by exactly the signed notional and the commission, in cents
        assert book.cash_cents - cash_before == -np.sign(signed) * notional - commission_cents
        assert outcome.cash_delta_cents == book.cash_cents - cash_before
        assert outcome.price == ticks / 10_000
        self.realised += outcome.realised_cents
        self.net_realised += outcome.net_realised_cents
        self.commissions += commission_cents
        self.held[contract.instrument] += signed
        for name, quantity_held in self.held.items():
            holding = book.holdings.get(name)
            assert (holding.quantity if holding else 0) == quantity_held
            if holding:
                assert holding.cost_basis_cents * quantity_held >= 0  # long >= 0, short <= 0
                assert holding.entry_commission_cents >= 0

    def check_equity(self, mark_by_name: dict[str, float]) -> None:
        """equity == cash + every position marked at quantity x mark x multiplier."""
        book = self.book
        marked = sum(
            int(np.sign(h.quantity))
            * cents_of(round(mark_by_name[name] * 10_000), abs(h.quantity) * h.multiplier)
            for name, h in book.holdings.items()
        )
        assert equity_cents(book, mark_by_name) == book.cash_cents + marked
        assert equity(book, mark_by_name) == (book.cash_cents + marked) / 100
        for name, h in book.holdings.items():
            assert mark_value_cents(h, mark_by_name[name]) == int(np.sign(h.quantity)) * cents_of(
                round(mark_by_name[name] * 10_000), abs(h.quantity) * h.multiplier
            )
        # the bulk valuation agrees point by point with the scalar one
        shifted = {name: mark + 0.0123 for name, mark in mark_by_name.items()}
        series = equity_series(
            book, {name: np.array([mark_by_name[name], shifted[name]]) for name in mark_by_name}
        )
        assert series.tolist() == [equity(book, mark_by_name), equity(book, shifted)]

    def check_realised(
        self,
        outcome: FillOutcome,
        contract: FillRequest,
        quantity: int,
        mark_by_name: dict[str, float],
    ) -> None:
        """The book, the fills and the round trips tell the same story of realised PnL."""
        book = self.book
        trades = book.closed_trades
        assert book.realised_cents == self.realised
        assert book.commissions_cents == self.commissions
        assert sum(t.pnl_cents + t.commissions_cents for t in trades) == self.realised
        open_entry_commissions = sum(h.entry_commission_cents for h in book.holdings.values())
        assert self.net_realised + open_entry_commissions == sum(t.pnl_cents for t in trades)
        # equity - start = realised - commissions + unrealised, exactly
        unrealised = sum(unrealised_cents(h, mark_by_name[n]) for n, h in book.holdings.items())
        assert (
            equity_cents(book, mark_by_name) - self.start
            == self.realised - self.commissions + unrealised
        )
        for trade in outcome.trades:
            assert 0 < trade.quantity <= quantity
            gross = trade.pnl_cents + trade.commissions_cents
            sign = 1 if trade.direction == Direction.LONG else -1
            exact = (trade.exit_price - trade.entry_price) * trade.quantity * contract.multiplier
            assert abs(gross - sign * exact * 100) <= 1.0 + 1e-6
            trade.to_trade("acct-1")  # satisfies the schema


@settings(max_examples=300, deadline=None)
@given(orders=orders, closing=closing_prices, closing_commission=st.integers(0, 500))
def test_accounting_invariants_hold_at_every_step(
    orders: list[tuple[int, Side, int, int, int, list[int]]],
    closing: list[int],
    closing_commission: int,
) -> None:
    book = new_book(50_000.0)
    ledger = Ledger(book, start=book.cash_cents)
    for index, side, quantity, ticks, commission_cents, marks in orders:
        ledger.fill_and_check(CONTRACTS[index], side, quantity, ticks, commission_cents, marks)

    # flatten everything: a flat book has no unrealised PnL and its whole PnL is realised
    for contract, ticks in zip(CONTRACTS, closing, strict=True):
        quantity = ledger.held[contract.instrument]
        if quantity:
            side = Side.SELL if quantity > 0 else Side.BUY
            ledger.fill_and_check(contract, side, abs(quantity), ticks, closing_commission, closing)
    assert book.holdings == {}
    assert equity_series(book, {"AAPL": np.ones(3)}).tolist() == [book.cash_cents / 100] * 3
    total = equity_cents(book, {}) - ledger.start
    assert total == ledger.net_realised == sum(t.pnl_cents for t in book.closed_trades)
    assert sum(t.commissions_cents for t in book.closed_trades) == ledger.commissions
    assert pickle.loads(pickle.dumps(book)) == book


@given(
    quantity=st.integers(1, 10_000),
    open_ticks=price_ticks,
    close_ticks=price_ticks,
    pieces=st.lists(st.integers(1, 10_000), min_size=1, max_size=20),
)
def test_closing_in_pieces_realises_the_same_as_closing_at_once(
    quantity: int, open_ticks: int, close_ticks: int, pieces: list[int]
) -> None:
    """Pro-rata basis removal may round each piece, but the pieces add up to the whole."""
    whole, split = new_book(1e6), new_book(1e6)
    for book in (whole, split):
        fill(book, CONTRACTS[0], Side.BUY, quantity, open_ticks / 10_000)
    at_once = fill(whole, CONTRACTS[0], Side.SELL, quantity, close_ticks / 10_000)
    remaining, realised, proceeds = quantity, 0, 0
    for piece in pieces:
        size = min(piece, remaining)
        outcome = fill(split, CONTRACTS[0], Side.SELL, size, close_ticks / 10_000)
        realised += outcome.realised_cents
        proceeds += outcome.cash_delta_cents
        remaining -= size
        if remaining == 0:
            break
    if remaining:
        realised += fill(
            split, CONTRACTS[0], Side.SELL, remaining, close_ticks / 10_000
        ).realised_cents
    assert split.holdings == whole.holdings == {}
    # each piece's proceeds round separately, so the totals may differ by those roundings only
    assert abs(realised - at_once.realised_cents) <= len(pieces) + 1
    assert realised == split.cash_cents - split.starting_cash_cents
