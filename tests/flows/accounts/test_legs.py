"""Legs: one constructor per kind of order a signal needs, and what a leg asks of the
orchestrator and of the book."""

from __future__ import annotations

import pytest

from flows.accounts.context import AccountContext
from flows.accounts.legs import OPTION_MULTIPLIER, Leg, holding_exposure
from flows.accounts.resting import order_for
from flows.accounts.state import AccountParams, Outputs, Quote, new_account
from flows.trading.chain import ChainParams, synthesize_chain
from flows.trading.portfolio import FillRequest, new_book
from flows.trading.selection import select_option
from schemas.common import AssetClass, OrderType, Side
from schemas.config import AlgorithmConfig, MovingAverageCross
from tests.flows.trading.books import CALL, CONTRACTS, EXPIRY, PUT, TS, fill

QUOTE = Quote(ts=TS, bid=99.98, ask=100.02, last=100.0)


def test_closing_a_long_equity_holding_sells_all_of_it_at_the_quote() -> None:
    book = new_book(100_000.0)
    fill(book, CONTRACTS[0], Side.BUY, 30, 100.0)
    leg = Leg.closing(book.holdings["AAPL"], QUOTE.bid, QUOTE.ask, QUOTE.mid)
    assert leg == Leg(
        "AAPL", "AAPL", AssetClass.EQUITY, 1, Side.SELL, 30, False, 99.98, 100.02, 100.0, 1.0, 0.0
    )
    assert leg.price == 99.98


def test_closing_a_short_option_buys_it_back_on_its_terms_and_greeks() -> None:
    book = new_book(100_000.0)
    fill(book, CONTRACTS[3], Side.SELL, 2, 2.5)
    leg = Leg.closing(book.holdings[PUT], 2.4, 2.6, 2.5, delta=-0.3, vega=0.12)
    assert (leg.instrument, leg.underlying, leg.side, leg.quantity, leg.opens) == (
        PUT,
        "AAPL",
        Side.BUY,
        2,
        False,
    )
    assert (leg.multiplier, leg.delta, leg.vega, leg.price) == (100, -0.3, 0.12, 2.6)
    assert (leg.expiry_ts, leg.strike, leg.is_call) == (EXPIRY, 100.0, False)


def test_an_equity_opening_trades_at_the_quote_as_a_share() -> None:
    leg = Leg.equity_opening("AAPL", Side.SELL, 40, QUOTE)
    assert (leg.instrument, leg.underlying, leg.asset_class, leg.multiplier) == (
        "AAPL",
        "AAPL",
        AssetClass.EQUITY,
        1,
    )
    assert (leg.side, leg.quantity, leg.opens, leg.price, leg.mid) == (
        Side.SELL,
        40,
        True,
        99.98,
        QUOTE.mid,
    )
    assert (leg.delta, leg.vega, leg.expiry_ts, leg.strike, leg.is_call) == (
        1.0,
        0.0,
        None,
        None,
        None,
    )


def test_an_option_opening_takes_its_row_of_the_chain() -> None:
    chain = synthesize_chain("AAPL", 100.0, TS, ChainParams())
    index = select_option(chain, True, 0.4, 7, side=Side.BUY)
    assert index is not None
    leg = Leg.option_opening(chain, index, Side.BUY, 3)
    assert (leg.instrument, leg.underlying, leg.asset_class) == (
        chain.contracts[index],
        "AAPL",
        AssetClass.OPTION,
    )
    assert (leg.multiplier, leg.side, leg.quantity, leg.opens) == (
        OPTION_MULTIPLIER,
        Side.BUY,
        3,
        True,
    )
    assert (leg.bid, leg.ask, leg.mid) == (
        float(chain.bid[index]),
        float(chain.ask[index]),
        float(chain.price[index]),
    )
    assert (leg.delta, leg.vega) == (float(chain.delta[index]), float(chain.vega[index]))
    assert (leg.expiry_ts, leg.strike, leg.is_call) == (
        int(chain.expiry_ts[index]),
        float(chain.strike[index]),
        True,
    )
    assert leg.exposure == 1


def test_a_resting_order_fills_as_an_equity_opening_at_the_touch() -> None:
    config = AlgorithmConfig(
        account_id="acct-1", symbols=["AAPL"], strategy=MovingAverageCross(fast=5, slow=20)
    )
    ctx = AccountContext(new_account(config), AccountParams(run_id="test"), Outputs())
    opening = Leg.equity_opening("AAPL", Side.BUY, 25, QUOTE)
    order = order_for(ctx, opening, "ord-1", TS, OrderType.LIMIT, limit_price=99.9)
    assert (order.order_type.value, order.limit_price, order.quantity) == ("limit", 99.9, 25)
    assert order.purpose == "entry"
    leg = Leg.resting_fill(order, 25, 99.85, 99.89)
    assert leg == Leg(
        "AAPL", "AAPL", AssetClass.EQUITY, 1, Side.BUY, 25, True, 99.85, 99.89, 99.87, 1.0, 0.0
    )


def test_a_leg_asks_the_orchestrator_for_at_least_one_unit_with_signed_greeks() -> None:
    book = new_book(100_000.0)
    fill(book, CONTRACTS[2], Side.BUY, 2, 3.0)
    leg = Leg.closing(book.holdings[CALL], 2.9, 3.1, 3.0, delta=0.5, vega=0.2)
    intent = leg.intent(TS, strength=1.7)
    assert (intent.side, intent.quantity, intent.price, intent.multiplier) == (
        Side.SELL,
        2,
        2.9,
        100,
    )
    assert (intent.strength, intent.opens) == (1.0, False)
    assert intent.delta == pytest.approx(-100.0)  # -2 contracts x 100 x 0.5
    assert intent.vega == pytest.approx(-40.0)
    empty = Leg.equity_opening("AAPL", Side.BUY, 0, QUOTE).intent(TS, strength=-1.0)
    assert (empty.quantity, empty.strength, empty.delta) == (1, 0.0, 0.0)


def test_a_leg_fills_as_the_request_it_names() -> None:
    chain = synthesize_chain("AAPL", 100.0, TS, ChainParams())
    leg = Leg.option_opening(chain, 0, Side.SELL, 4)
    assert leg.fill_request(TS + 5, 1.23, 260) == FillRequest(
        ts=TS + 5,
        instrument=leg.instrument,
        underlying="AAPL",
        asset_class=AssetClass.OPTION,
        multiplier=100,
        side=Side.SELL,
        quantity=4,
        price=1.23,
        commission_cents=260,
        expiry_ts=leg.expiry_ts,
        strike=leg.strike,
        is_call=leg.is_call,
    )


def test_exposure_says_which_way_the_underlying_must_move() -> None:
    book = new_book(100_000.0)
    fill(book, CONTRACTS[0], Side.SELL, 1, 100.0)
    fill(book, CONTRACTS[2], Side.BUY, 1, 3.0)
    fill(book, CONTRACTS[3], Side.SELL, 1, 2.0)
    assert holding_exposure(book.holdings["AAPL"]) == -1  # short shares
    assert holding_exposure(book.holdings[CALL]) == 1  # long call
    assert holding_exposure(book.holdings[PUT]) == 1  # short put
    assert Leg.closing(book.holdings[PUT], 1.9, 2.1, 2.0).exposure == -1  # buying a put back
