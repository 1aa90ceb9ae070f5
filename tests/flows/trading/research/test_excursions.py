"""MAE and MFE of round trips on hand-made price series."""

from __future__ import annotations

import numpy as np
import pytest

from flows.trading.research.excursions import PriceSeries, excursion, excursions
from schemas.common import Direction
from schemas.trading import Trade

T0 = 1_795_789_800_000
MARKS = PriceSeries(
    ts=T0 + np.array([0, 10, 20, 30, 40, 50, 60], dtype=np.int64),
    # before entry | entry 10 .. exit 50 | after exit
    price=np.array([50.0, 10.0, 8.0, 13.0, 11.0, 12.0, 99.0]),
)


def trade(direction: Direction, entry: float, exit_: float) -> Trade:
    return Trade(
        account_id="a",
        instrument="AAPL",
        underlying="AAPL",
        direction=direction,
        quantity=3,
        entry_ts=T0 + 10,
        exit_ts=T0 + 50,
        entry_price=entry,
        exit_price=exit_,
        pnl=0.0,
        commissions=0.0,
    )


def test_a_long_trade_suffers_the_low_and_enjoys_the_high_while_open() -> None:
    found = excursion(trade(Direction.LONG, 10.0, 12.0), MARKS, multiplier=100)
    # low 8 (2 under entry), high 13 (3 over); 3 contracts x 100; marks outside are ignored
    assert found.mae == pytest.approx(600.0)
    assert found.mfe == pytest.approx(900.0)
    assert found.mae_pct == pytest.approx(0.2)
    assert found.mfe_pct == pytest.approx(0.3)


def test_a_short_trade_is_hurt_by_the_high() -> None:
    found = excursion(trade(Direction.SHORT, 10.0, 12.0), MARKS)
    assert (found.mae, found.mfe) == (pytest.approx(9.0), pytest.approx(6.0))
    assert (found.mae_pct, found.mfe_pct) == (pytest.approx(0.3), pytest.approx(0.2))


def test_without_marks_the_entry_and_exit_prices_bound_the_excursion() -> None:
    found = excursions([trade(Direction.LONG, 10.0, 9.5)], {}, {})[0]
    assert found.mae == pytest.approx(1.5)
    assert found.mfe == 0.0
    assert found.mae_pct == pytest.approx(0.05)
