"""Instrument selection and order sizing (flows.trading.selection)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from flows.trading.chain import (
    MS_PER_DAY,
    MS_PER_YEAR,
    Chain,
    ChainParams,
    occ_symbol,
    synthesize_chain,
)
from flows.trading.selection import select_option, size_order
from schemas.common import Side
from schemas.config import Sizing, SizingMethod

TS = round(datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp() * 1000)


def hand_built_chain(rows: list[tuple[int, float, bool, float, float, float]]) -> Chain:
    """A chain from (days to expiry, strike, is_call, delta, bid, ask) rows; other Greeks 0."""
    days = np.array([row[0] for row in rows])
    expiry_ts = TS + days.astype(np.int64) * MS_PER_DAY
    expiry = (expiry_ts // MS_PER_DAY).astype("datetime64[D]")
    strike = np.array([row[1] for row in rows])
    is_call = np.array([row[2] for row in rows])
    zeros = np.zeros(len(rows))
    return Chain(
        underlying="XYZ",
        ts=TS,
        spot=100.0,
        expiry=expiry,
        expiry_ts=expiry_ts,
        strike=strike,
        is_call=is_call,
        years=(expiry_ts - TS) / MS_PER_YEAR,
        iv=np.full(len(rows), 0.3),
        price=np.array([(row[4] + row[5]) / 2 for row in rows]),
        bid=np.array([row[4] for row in rows]),
        ask=np.array([row[5] for row in rows]),
        delta=np.array([row[3] for row in rows]),
        gamma=zeros,
        vega=zeros,
        theta=zeros,
        rho=zeros,
        contracts=tuple(
            occ_symbol("XYZ", e.astype(object), c, k)
            for e, c, k in zip(expiry, is_call, strike, strict=True)
        ),
    )


BOOK = hand_built_chain(
    [
        (28, 95.0, True, 0.62, 6.1, 6.3),  # 0
        (28, 100.0, True, 0.48, 3.4, 3.6),  # 1
        (28, 105.0, True, 0.31, 1.7, 1.8),  # 2
        (28, 110.0, True, 0.18, 0.7, 0.8),  # 3
        (28, 95.0, False, -0.38, 1.3, 1.4),  # 4
        (28, 100.0, False, -0.52, 3.0, 3.2),  # 5
        (35, 95.0, True, 0.60, 6.8, 7.0),  # 6
        (35, 100.0, True, 0.49, 4.0, 4.2),  # 7
        (35, 105.0, True, 0.33, 2.1, 2.3),  # 8
        (35, 110.0, True, 0.21, 1.0, 1.1),  # 9
        (35, 90.0, False, -0.22, 0.8, 0.9),  # 10
        (35, 95.0, False, -0.31, 1.6, 1.7),  # 11
    ]
)


def test_picks_the_expiry_nearest_the_target_days_then_the_delta_nearest_the_target() -> None:
    assert select_option(BOOK, True, 0.30, 30) == 2
    assert select_option(BOOK, True, 0.50, 30) == 1
    assert select_option(BOOK, True, 0.30, 40) == 8
    assert select_option(BOOK, False, 0.30, 33) == 11
    assert select_option(BOOK, False, 0.40, 0) == 4


def test_a_tie_on_days_goes_to_the_later_expiry() -> None:
    assert select_option(BOOK, True, 0.20, 31) == 3  # 3 days vs 4 days: no tie
    halfway = hand_built_chain([(28, 100.0, True, 0.5, 3.0, 3.2), (36, 100.0, True, 0.5, 3.5, 3.7)])
    assert select_option(halfway, True, 0.5, 32) == 1


def test_a_tie_on_delta_goes_to_the_contract_more_in_the_money() -> None:
    chain = hand_built_chain(
        [
            (30, 100.0, True, 0.35, 2.0, 2.1),
            (30, 105.0, True, 0.25, 1.0, 1.1),
            (30, 95.0, False, -0.25, 1.0, 1.1),
            (30, 100.0, False, -0.35, 2.0, 2.1),
        ]
    )
    assert select_option(chain, True, 0.30, 30) == 0  # the lower strike call
    assert select_option(chain, False, 0.30, 30) == 3  # the higher strike put


def test_selling_needs_a_bid() -> None:
    chain = hand_built_chain(
        [
            (30, 105.0, True, 0.30, 0.0, 0.05),
            (30, 100.0, True, 0.45, 1.9, 2.0),
            (30, 95.0, False, -0.30, 0.0, 0.05),
        ]
    )
    assert select_option(chain, True, 0.30, 30) == 0
    assert select_option(chain, True, 0.30, 30, side=Side.SELL) == 1
    assert select_option(chain, False, 0.30, 30, side=Side.SELL) is None


def test_nothing_of_the_requested_right_gives_none() -> None:
    calls_only = hand_built_chain([(30, 100.0, True, 0.5, 2.0, 2.1)])
    assert select_option(calls_only, False, 0.30, 30) is None


def test_a_synthetic_chain_gives_the_monthly_near_thirty_days_and_a_thirty_delta() -> None:
    chain = synthesize_chain("AAPL", 231.37, TS, ChainParams())
    index = select_option(chain, True, 0.30, 30)
    assert index is not None
    days = (chain.expiry_ts - TS) / MS_PER_DAY
    assert np.abs(days[index] - 30) == np.abs(np.unique(days) - 30).min()
    same_expiry_calls = (chain.expiry_ts == chain.expiry_ts[index]) & chain.is_call
    assert np.abs(chain.delta[index] - 0.30) == np.abs(chain.delta[same_expiry_calls] - 0.30).min()
    put = select_option(chain, False, 0.30, 30)
    assert put is not None
    assert not chain.is_call[put]
    assert chain.delta[put] < 0


def test_fixed_quantity_is_the_quantity() -> None:
    assert size_order(Sizing(quantity=7), 3.10, 100, 50_000.0) == 7


def test_fixed_notional_buys_whole_contracts_it_can_pay_for() -> None:
    sizing = Sizing(method=SizingMethod.FIXED_NOTIONAL, notional=10_000.0)
    assert size_order(sizing, 2.50, 100, 50_000.0) == 40  # 10,000 / 250
    assert size_order(sizing, 3.00, 100, 50_000.0) == 33  # 10,000 / 300 = 33.3
    assert size_order(sizing, 231.37, 1, 50_000.0) == 43  # shares: 10,000 / 231.37 = 43.2
    assert size_order(sizing, 150.0, 100, 50_000.0) == 0  # one contract costs 15,000


def test_equity_fraction_sizes_off_equity() -> None:
    sizing = Sizing(method=SizingMethod.EQUITY_FRACTION, fraction=0.1)
    assert size_order(sizing, 3.30, 100, 100_000.0) == 30  # 10,000 / 330 = 30.3
    assert size_order(sizing, 3.30, 100, 200_000.0) == 60


def test_a_budget_that_buys_exactly_n_is_not_rounded_down_by_float_error() -> None:
    assert 70.0 / (0.07 * 100) < 10  # 9.999999999999998
    sizing = Sizing(method=SizingMethod.FIXED_NOTIONAL, notional=70.0)
    assert size_order(sizing, 0.07, 100, 1_000.0) == 10


@pytest.mark.parametrize("method", list(SizingMethod))
@pytest.mark.parametrize(
    ("price", "equity"),
    [(0.0, 100_000.0), (-1.0, 100_000.0), (math.nan, 100_000.0), (2.0, 0.0), (2.0, -5.0)],
)
def test_no_price_or_no_equity_sizes_to_zero(
    method: SizingMethod, price: float, equity: float
) -> None:
    assert size_order(Sizing(method=method), price, 100, equity) == 0
