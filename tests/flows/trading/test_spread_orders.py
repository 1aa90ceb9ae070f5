"""The pure rules of a resting spread (flows.trading.spread_orders), worked by hand on a put
credit vertical: sell the 100 put (3.00 / 3.20), buy the 95 put (1.30 / 1.40)."""

from __future__ import annotations

import pytest

from flows.trading.spread_orders import RestingSpread, exit_levels, work_spread
from flows.trading.spreads import LegQuote
from schemas.common import OrderStatus, OrderType, TimeInForce
from schemas.config import Costs
from tests.flows.trading.test_spreads import NO_COSTS, QUOTES, TS, put_credit_spread


def cents(price: float | None) -> int | None:
    return None if price is None else round(price * 100)


def test_exit_levels_of_a_credit_and_a_debit_spread() -> None:
    """Credit 1.20: the stop where closing costs 1.20 + 0.60, the take-profit at 1.20 - 0.60.
    Debit 2.00: closing fetches a credit (negative): stop at -2.00 + 0.20 (fetching only
    1.80), take-profit at -2.00 - 1.00 (fetching 3.00)."""
    stop, take = exit_levels(-1.20, 0.5, 0.5, 0.01)
    assert (cents(stop), cents(take)) == (180, 60)
    stop, take = exit_levels(2.00, 0.1, 0.5, 0.01)
    assert (cents(stop), cents(take)) == (-180, -300)


def test_a_credit_spread_cannot_take_more_than_its_credit() -> None:
    assert exit_levels(-1.20, None, 1.0, 0.01) == (None, None)


def resting(kind: OrderType, tif: TimeInForce = TimeInForce.DAY, **terms: float) -> RestingSpread:
    return RestingSpread(
        spread_id="s",
        spread=put_credit_spread(),
        units=1,
        order_type=kind,
        time_in_force=tif,
        purpose="entry",
        active_ts=TS,
        expires_ts=None,
        orders=[],
        **terms,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("limit", "filled"),
    [(-1.60, True), (-1.61, False)],
)
def test_a_limit_spread_fills_passively_only_when_the_net_meets_it(
    limit: float, filled: bool
) -> None:
    """At the touches the net is -3.00 + 1.40 = -1.60: a credit of 1.60 meets a limit of 1.60
    and not one of 1.61; a passive fill takes the touches, no slippage."""
    costs = Costs(slippage_bps=50.0)
    outcome = work_spread(resting(OrderType.LIMIT, limit=limit), QUOTES, TS + 1, costs)
    if filled:
        assert outcome.status == OrderStatus.FILLED
        assert outcome.fill is not None
        assert round(outcome.fill.net_price * 10_000) == -16_000
    else:
        assert outcome == type(outcome)()  # keeps working


def test_an_ioc_limit_spread_that_does_not_meet_is_cancelled_whole() -> None:
    order = resting(OrderType.LIMIT, TimeInForce.IOC, limit=-1.70)
    outcome = work_spread(order, QUOTES, TS + 1, NO_COSTS)
    assert outcome.status == OrderStatus.CANCELLED
    assert outcome.reason.startswith("ioc: net price")


def test_a_stop_triggers_on_the_cost_to_close_and_fills_at_market() -> None:
    """Closing the vertical buys the 100 put at 3.20 and sells the 95 at 1.30: 1.90 to close."""
    closing = resting(OrderType.STOP, stop=1.95)
    closing.spread = put_credit_spread().reversed()
    assert work_spread(closing, QUOTES, TS + 1, NO_COSTS).status is None
    closing.stop = 1.90
    outcome = work_spread(closing, QUOTES, TS + 1, NO_COSTS)
    assert outcome.fill is not None
    assert round(outcome.fill.net_price * 100) == 190
    crossed = [QUOTES[0], LegQuote(bid=1.50, ask=1.40, ts=TS)]
    assert work_spread(closing, crossed, TS + 1, NO_COSTS).status is None  # waits
