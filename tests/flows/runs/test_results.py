"""A run's round trips, rebuilt from its fills for the results, are the validated `Trade`s the
booking describes, though built without a validation each (`flows.runs.results._trade`)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.runs.results import trades_from_fills
from flows.trading.portfolio import FillRequest, apply_fill, new_book
from schemas.common import AssetClass, ExitReason, Side
from schemas.trading import Fill, Trade

T0 = 1_795_000_000_000

fill_steps = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 300),
        st.floats(0.5, 500.0),
        st.floats(0.0, 5.0),
        st.sampled_from(ExitReason),
    ),
    min_size=1,
    max_size=30,
)


def fills_of(steps: list[tuple[Side, int, float, float, ExitReason]]) -> list[Fill]:
    return [
        Fill(
            fill_id=f"f{n:03d}",
            order_id=f"o{n}",
            run_id="results",
            account_id="acct",
            ts=T0 + n * 1000,
            instrument="AAPL",
            underlying="AAPL",
            asset_class=AssetClass.EQUITY,
            side=side,
            quantity=quantity,
            price=round(price, 4),
            multiplier=1,
            commission=round(commission, 2),
            slippage=0.0,
            realised_pnl=0.0,
            reason="signal",
            exit_reason=exit_reason,
        )
        for n, (side, quantity, price, commission, exit_reason) in enumerate(steps)
    ]


def validated_trades(fills: list[Fill], starting_cash: float) -> list[Trade]:
    """The round trips as `trades_from_fills` made them before: each validated."""
    book = new_book(starting_cash)
    trades = []
    for fill in sorted(fills, key=lambda f: (f.ts, f.fill_id)):
        outcome = apply_fill(book, FillRequest.from_row(fill))
        trades += [
            closed.to_trade(fill.account_id).model_copy(update={"exit_reason": fill.exit_reason})
            for closed in outcome.trades
        ]
    return trades


@settings(max_examples=150, deadline=None)
@given(fill_steps)
def test_trades_rebuilt_from_fills_equal_the_validated_trades(
    steps: list[tuple[Side, int, float, float, ExitReason]],
) -> None:
    fills = fills_of(steps)
    made = trades_from_fills(fills, 1e7)
    expected = validated_trades(fills, 1e7)
    assert made == expected
    assert [t.model_dump_json() for t in made] == [t.model_dump_json() for t in expected]
    assert [t.model_fields_set for t in made] == [t.model_fields_set for t in expected]


def test_a_reversal_closes_one_trade_with_the_closing_fills_reason() -> None:
    """Bought 10 at 100, sold 30 at 103 (closes 10, shorts 20), bought 20 at 101 on a stop:
    two trades, +30 and +40 before commissions."""
    fills = fills_of(
        [
            (Side.BUY, 10, 100.0, 0.0, ExitReason.NONE),
            (Side.SELL, 30, 103.0, 0.0, ExitReason.NONE),
            (Side.BUY, 20, 101.0, 0.0, ExitReason.STOP_LOSS),
        ]
    )
    trades = trades_from_fills(fills, 1e6)
    assert [(t.direction.value, t.quantity, t.pnl, t.exit_reason) for t in trades] == [
        ("long", 10, 30.0, ExitReason.NONE),
        ("short", 20, 40.0, ExitReason.STOP_LOSS),
    ]
