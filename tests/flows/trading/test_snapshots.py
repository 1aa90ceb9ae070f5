"""Position snapshots: open positions marked to market, with Greeks and the account's totals."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.orchestrator import WorstScenario
from flows.trading.portfolio import new_book
from flows.trading.snapshots import PositionGreeks, positions, snapshot_rows
from flows.trading.valuation import equity
from schemas.common import Side
from schemas.tables import column_names, trusted_row
from schemas.trading import PositionSnapshot
from tests.flows.trading.books import CALL, CONTRACTS, TS, fill


def test_positions_and_snapshot_rows_carry_marks_greeks_and_account_totals() -> None:
    book = new_book(100_000.0)
    fill(book, CONTRACTS[0], Side.BUY, 100, 150.0, commission_cents=100)
    fill(book, CONTRACTS[2], Side.SELL, 2, 4.0, commission_cents=130)
    fill(book, CONTRACTS[0], Side.SELL, 40, 151.0, commission_cents=100)
    marks = {"AAPL": 152.0, CALL: 4.5}
    # cash: 100,000 - 15,000 - 1 + 800 - 1.30 + 6,040 - 1 = 91,836.70
    # AAPL 60 at 152 = 9,120 (basis 9,000); call -2 x 100 x 4.5 = -900 (basis -800)
    assert book.cash_cents == 9_183_670
    assert equity(book, marks) == 91_836.70 + 9_120.0 - 900.0

    aapl, call = positions(book, "acct-1", marks)
    assert (aapl.instrument, aapl.quantity, aapl.avg_price) == ("AAPL", 60, 150.0)
    assert (aapl.market_value, aapl.unrealised_pnl, aapl.realised_pnl) == (9_120.0, 120.0, 40.0)
    assert (call.quantity, call.multiplier, call.market_value, call.unrealised_pnl) == (
        -2,
        100,
        -900.0,
        -100.0,
    )

    greeks = {CALL: PositionGreeks(delta=-80.0, gamma=-3.0, vega=-40.0, theta=90.0)}
    rows = snapshot_rows(
        book, run_id="live", account_id="acct-1", ts=TS, marks=marks, greeks=greeks
    )
    assert [row.instrument for row in rows] == ["AAPL", CALL, ""]
    assert all(isinstance(row, PositionSnapshot) for row in rows)
    assert len({row.row_id for row in rows}) == 3
    assert rows[0].delta == 0.0
    assert rows[1].delta == -80.0
    account = rows[2]
    assert (account.market_value, account.unrealised_pnl, account.realised_pnl) == (
        8_220.0,
        20.0,
        40.0,
    )
    assert (account.delta, account.theta) == (-80.0, 90.0)
    assert {row.cash for row in rows} == {91_836.70}
    assert {row.equity for row in rows} == {100_056.70}
    assert rows == snapshot_rows(
        book, run_id="live", account_id="acct-1", ts=TS, marks=marks, greeks=greeks
    )


@settings(max_examples=100, deadline=None)
@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(range(len(CONTRACTS))),
            st.sampled_from(list(Side)),
            st.integers(1, 500),
            st.floats(0.01, 5_000.0),
        ),
        max_size=8,
    ),
    mark=st.floats(0.0, 10_000.0),
    delta=st.floats(-1e6, 1e6),
    loss=st.floats(0.0, 1e7),
)
def test_snapshot_rows_are_stored_as_the_trusted_conversion_would_store_them(
    trades: list[tuple[int, Side, int, float]], mark: float, delta: float, loss: float
) -> None:
    """The rows are built in column order without `trusted_row`'s conversion by column kind:
    converting them again changes nothing, value or type, and reading them back validates."""
    book = new_book(1_000_000.0)
    for contract, side, quantity, price in trades:
        fill(book, CONTRACTS[contract], side, quantity, price)
    marks = dict.fromkeys(book.holdings, mark)
    greeks = {name: PositionGreeks(delta=delta, theta=-delta) for name in book.holdings}
    held = len(book.holdings)
    scenario = WorstScenario(loss, 0.05, (), np.full(held, loss / 3))
    rows = snapshot_rows(
        book, run_id="bt-1", account_id="a", ts=TS, marks=marks, greeks=greeks, scenario=scenario
    )
    names = column_names(PositionSnapshot)
    for row in rows.rows:
        again = trusted_row(PositionSnapshot, dict(zip(names, row, strict=True)))
        assert again == row
        assert [type(value) for value in again] == [type(value) for value in row]
    validated = [PositionSnapshot.model_validate(row.model_dump()) for row in rows]
    assert [tuple(row.model_dump().values()) for row in validated] == rows.rows
