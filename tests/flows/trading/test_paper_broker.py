"""Paper execution: fill prices with slippage, limit crossing, commissions, intrinsic value."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.trading.paper_broker import (
    commission,
    first_limit_cross,
    intrinsic_value,
    limit_fill_price,
    market_fill_price,
    on_price_grid,
    slippage_cost_cents,
    slippage_per_unit,
    to_price_ticks,
)
from schemas.common import AssetClass, Side
from schemas.config import Costs

NO_SLIPPAGE = Costs(slippage_bps=0.0, slippage_ticks=0)
prices = st.integers(min_value=1, max_value=50_000_000).map(lambda ticks: ticks / 10_000)


def test_slippage_combines_basis_points_and_ticks() -> None:
    costs = Costs(slippage_bps=2.0, slippage_ticks=3, tick_size=0.05)
    # 50 * 2 / 10_000 = 0.01, plus 3 ticks of 0.05 = 0.15
    assert slippage_per_unit(50.0, costs) == pytest.approx(0.16, abs=1e-12)


def test_market_buy_pays_ask_plus_slippage_rounded_to_the_grid() -> None:
    """Ask 100.02 with 2 bps and 1 tick of 0.01:
    slippage = 100.02 * 2 / 10_000 + 0.01 = 0.020004 + 0.01 = 0.030004,
    100.02 + 0.030004 = 100.050004, which the 0.0001 grid books as 100.0500."""
    costs = Costs(slippage_bps=2.0, slippage_ticks=1, tick_size=0.01)
    assert market_fill_price(Side.BUY, 99.98, 100.02, costs) == 100.05


def test_market_sell_receives_bid_minus_slippage() -> None:
    """Bid 101.00, 2 bps and 1 tick: 101 - (0.0202 + 0.01) = 100.9698."""
    costs = Costs(slippage_bps=2.0, slippage_ticks=1, tick_size=0.01)
    assert market_fill_price(Side.SELL, 101.00, 101.04, costs) == 100.9698


def test_market_sell_never_fills_below_zero() -> None:
    costs = Costs(slippage_bps=0.0, slippage_ticks=5, tick_size=0.05)
    assert market_fill_price(Side.SELL, 0.10, 0.20, costs) == 0.0


def test_market_fill_without_costs_is_the_touch() -> None:
    assert market_fill_price(Side.BUY, 1.2345, 1.2355, NO_SLIPPAGE) == 1.2355
    assert market_fill_price(Side.SELL, 1.2345, 1.2355, NO_SLIPPAGE) == 1.2345


@given(bid=prices, spread=st.integers(0, 10_000), bps=st.floats(0, 50), ticks=st.integers(0, 5))
def test_market_fills_are_on_the_grid_and_never_better_than_the_touch(
    bid: float, spread: int, bps: float, ticks: int
) -> None:
    ask = (to_price_ticks(bid) + spread) / 10_000
    costs = Costs(slippage_bps=bps, slippage_ticks=ticks, tick_size=0.01)
    buy = market_fill_price(Side.BUY, bid, ask, costs)
    sell = market_fill_price(Side.SELL, bid, ask, costs)
    assert on_price_grid(buy) == buy
    assert on_price_grid(sell) == sell
    assert buy >= ask
    assert 0.0 <= sell <= bid
    assert abs(buy - (ask + slippage_per_unit(ask, costs))) <= 0.00005 + 1e-9
    assert slippage_cost_cents(Side.BUY, bid, ask, buy, 7, 100) >= 0
    assert slippage_cost_cents(Side.SELL, bid, ask, sell, 7, 100) >= 0


def test_slippage_cost_is_distance_from_the_touch_times_units() -> None:
    """Buy 300 at 100.05 against an ask of 100.02: 0.03 * 300 = 9.00 -> 900 cents.
    Sell 3 contracts at 1.2300 against a bid of 1.2345: 0.0045 * 300 = 1.35 -> 135 cents.
    Sell 1 share at 10.0000 against 10.0050: 0.005 -> half a cent, rounded up to 1."""
    assert slippage_cost_cents(Side.BUY, 99.98, 100.02, 100.05, 300, 1) == 900
    assert slippage_cost_cents(Side.SELL, 1.2345, 1.25, 1.23, 3, 100) == 135
    assert slippage_cost_cents(Side.SELL, 10.005, 10.01, 10.0, 1, 1) == 1


def test_buy_limit_fills_at_the_ask_once_the_ask_reaches_the_limit() -> None:
    assert limit_fill_price(Side.BUY, 100.00, 99.99, 100.01) is None
    assert limit_fill_price(Side.BUY, 100.00, 99.98, 100.00) == 100.00
    assert limit_fill_price(Side.BUY, 100.00, 99.90, 99.95) == 99.95


def test_sell_limit_fills_at_the_bid_once_the_bid_reaches_the_limit() -> None:
    assert limit_fill_price(Side.SELL, 50.00, 49.99, 50.01) is None
    assert limit_fill_price(Side.SELL, 50.00, 50.00, 50.02) == 50.00
    assert limit_fill_price(Side.SELL, 50.00, 50.10, 50.12) == 50.10


def test_first_limit_cross_finds_the_first_crossing_quote() -> None:
    bid = np.array([99.0, 99.5, np.nan, 100.2, 100.4, 99.0])
    ask = np.array([99.2, 99.7, np.nan, 100.3, 100.5, 99.1])
    # a buy fills where the ask is at or below the limit; the NaN quote at 2 never fills
    assert first_limit_cross(Side.BUY, 99.6, bid, ask) == 0
    assert first_limit_cross(Side.BUY, 99.1, bid, ask) == 5
    assert first_limit_cross(Side.BUY, 98.0, bid, ask) is None
    # sell limit 100.2: the bid first reaches it at index 3
    assert first_limit_cross(Side.SELL, 100.2, bid, ask) == 3
    assert first_limit_cross(Side.SELL, 100.5, bid, ask) is None
    assert first_limit_cross(Side.SELL, 100.0, bid[:0], ask[:0]) is None


@given(
    side=st.sampled_from(Side),
    limit=prices,
    quotes=st.lists(st.tuples(prices, st.integers(0, 1000)), min_size=0, max_size=50),
)
def test_first_limit_cross_agrees_with_quote_by_quote_checks(
    side: Side, limit: float, quotes: list[tuple[float, int]]
) -> None:
    bid = np.array([b for b, _ in quotes], dtype=np.float64)
    ask = np.array([(to_price_ticks(b) + s) / 10_000 for b, s in quotes], dtype=np.float64)
    expected = next(
        (
            i
            for i in range(len(quotes))
            if limit_fill_price(side, limit, float(bid[i]), float(ask[i])) is not None
        ),
        None,
    )
    assert first_limit_cross(side, limit, bid, ask) == expected


def test_equity_commission_per_share_with_minimum() -> None:
    costs = Costs(commission_per_share=0.005, min_commission=1.0)
    assert commission(AssetClass.EQUITY, 100, costs) == 100  # 0.50 -> minimum 1.00
    assert commission(AssetClass.EQUITY, 300, costs) == 150  # 1.50
    assert commission(AssetClass.EQUITY, 333, costs) == 167  # 1.665 -> half up -> 1.67


def test_option_commission_per_contract_with_minimum() -> None:
    costs = Costs(commission_per_contract=0.65, min_commission=1.0)
    assert commission(AssetClass.OPTION, 1, costs) == 100  # 0.65 -> minimum 1.00
    assert commission(AssetClass.OPTION, 3, costs) == 195  # 1.95
    free = Costs(commission_per_contract=0.0, min_commission=0.0)
    assert commission(AssetClass.OPTION, 10, free) == 0


@given(
    rate=st.one_of(
        st.integers(0, 10_000).map(lambda mills: mills / 1000),
        st.floats(0, 100, allow_nan=False),
    ),
    minimum=st.one_of(
        st.integers(0, 500).map(lambda cents: cents / 100), st.floats(0, 50, allow_nan=False)
    ),
    quantity=st.integers(1, 1_000_000),
    asset_class=st.sampled_from(AssetClass),
)
def test_commission_is_the_decimal_amount_rounded_half_up(
    rate: float, minimum: float, quantity: int, asset_class: AssetClass
) -> None:
    costs = Costs(commission_per_share=rate, commission_per_contract=rate, min_commission=minimum)
    exact = max(Decimal(repr(minimum)), Decimal(repr(rate)) * quantity)
    expected = int((exact * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert commission(asset_class, quantity, costs) == expected


def test_intrinsic_value_of_calls_and_puts() -> None:
    assert intrinsic_value(True, 100.0, 112.5) == 12.5
    assert intrinsic_value(True, 100.0, 95.0) == 0.0
    assert intrinsic_value(False, 100.0, 95.0) == 5.0
    assert intrinsic_value(False, 100.0, 112.5) == 0.0
    assert intrinsic_value(True, 100.0, 100.0) == 0.0
