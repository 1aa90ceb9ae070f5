"""Hand-worked fills of the order engine: each order type, time in force, sizes and latency."""

from __future__ import annotations

import numpy as np
import pytest

from flows.trading.orders import RestingOrder, drive, usable_quote
from flows.trading.ticks import NO_SIZE
from schemas.common import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from schemas.config import Costs

COSTS = Costs(slippage_bps=0.0, slippage_ticks=1, tick_size=0.01)  # one cent against the order


def order(side: Side, kind: OrderType, tif: TimeInForce = TimeInForce.GTC, **terms) -> RestingOrder:  # type: ignore[no-untyped-def]
    return RestingOrder(
        order_id="o1",
        instrument="AAPL",
        underlying="AAPL",
        asset_class=AssetClass.EQUITY,
        multiplier=1,
        side=side,
        quantity=terms.pop("quantity", 100),
        order_type=kind,
        time_in_force=tif,
        purpose="entry",
        placed_ts=0,
        active_ts=terms.pop("active_ts", 0),
        **terms,
    )


def quotes(*pairs: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.arange(len(pairs), dtype=np.int64) * 1000
    return ts, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def fills(events) -> list[tuple[int, int, float]]:  # type: ignore[no-untyped-def]
    return [(p, o.quantity, o.price) for p, o in events if o.quantity]


def test_a_buy_limit_fills_at_the_touch_once_the_ask_crosses() -> None:
    ts, bid, ask = quotes((100.9, 101.0), (100.4, 100.5), (99.8, 99.9), (99.0, 99.1))
    o = order(Side.BUY, OrderType.LIMIT, limit_price=100.0)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(2, 100, 99.9)]
    assert o.status == OrderStatus.FILLED


def test_a_sell_stop_gapped_through_fills_at_the_first_bid_past_it_less_slippage() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (99.0, 99.1), (95.0, 95.1), (99.0, 99.1))
    o = order(Side.SELL, OrderType.STOP, stop_price=98.0)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(2, 100, 94.99)]


def test_a_buy_stop_triggers_on_the_ask_and_fills_at_it_plus_slippage() -> None:
    ts, bid, ask = quotes((100.9, 101.0), (101.9, 102.0), (102.4, 102.5))
    o = order(Side.BUY, OrderType.STOP, stop_price=102.0)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(1, 100, 102.01)]


def test_a_stop_limit_triggers_then_rests_as_a_limit() -> None:
    # triggers at bid 97 (<= 98) but 97 is below the 97.5 limit: it fills when the bid is back
    ts, bid, ask = quotes((99.0, 99.1), (97.0, 97.1), (97.2, 97.3), (97.6, 97.7))
    o = order(Side.SELL, OrderType.STOP_LIMIT, stop_price=98.0, limit_price=97.5)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(3, 100, 97.6)]
    assert o.triggered


def test_a_trailing_sell_stop_by_amount_follows_the_best_bid() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (102.0, 102.1), (101.5, 101.6), (101.0, 101.1))
    o = order(Side.SELL, OrderType.TRAILING_STOP, trail_amount=1.0)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(3, 100, 100.99)]
    assert o.reference == 102.0


def test_a_trailing_buy_stop_by_percent_follows_the_lowest_ask() -> None:
    # lowest ask 98 -> stop 98 * 1.01 = 98.98; the ask of 98.5 stays under it, 99 is past it
    ts, bid, ask = quotes((99.9, 100.0), (97.9, 98.0), (98.4, 98.5), (98.9, 99.0))
    o = order(Side.BUY, OrderType.TRAILING_STOP, trail_percent=0.01)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(3, 100, 99.01)]


def test_a_trailing_stop_starts_from_its_reference() -> None:
    ts, bid, ask = quotes((100.5, 100.6), (99.5, 99.6))
    o = order(Side.SELL, OrderType.TRAILING_STOP, trail_amount=1.0, reference=101.0)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(1, 100, 99.49)]


def test_nothing_fills_on_a_crossed_quote() -> None:
    ts, bid, ask = quotes((100.6, 100.5), (100.2, 100.1), (100.0, 100.1))
    o = order(Side.BUY, OrderType.MARKET)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(2, 100, 100.11)]


def test_a_zero_width_quote_is_a_price_that_fills_as_bars_do() -> None:
    """A file of bars has no bid and ask: each bar is a quote of width 0 at its close."""
    ts, bid, ask = quotes((100.6, 100.5), (100.0, 100.0), (100.0, 100.1))
    o = order(Side.BUY, OrderType.MARKET)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(1, 100, 100.01)]


def test_latency_fills_at_the_first_quote_after_arrival() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (100.2, 100.3), (100.4, 100.5))
    o = order(Side.BUY, OrderType.MARKET, active_ts=1500)
    assert fills(drive(o, ts, bid, ask, COSTS)) == [(2, 100, 100.51)]


def test_partial_fills_against_the_quoted_size_add_up() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (100.0, 100.2), (100.0, 100.3), (100.0, 100.4))
    size = np.array([30, 0, 50, 40])
    o = order(Side.BUY, OrderType.MARKET)
    events = drive(o, ts, bid, ask, COSTS, size)
    assert fills(events) == [(0, 30, 100.11), (2, 50, 100.31), (3, 20, 100.41)]
    assert [e.status for _, e in events] == [
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    assert o.filled == 100
    assert o.avg_fill_price == pytest.approx((30 * 100.11 + 50 * 100.31 + 20 * 100.41) / 100)


def test_ioc_fills_what_it_can_on_arrival_and_cancels_the_rest() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (100.0, 100.1))
    o = order(Side.BUY, OrderType.LIMIT, TimeInForce.IOC, limit_price=100.1)
    [(p, outcome)] = drive(o, ts, bid, ask, COSTS, np.array([40, 500]))
    assert (p, outcome.quantity, outcome.status) == (0, 40, OrderStatus.CANCELLED)
    assert "60" in outcome.reason


def test_ioc_that_does_not_cross_on_arrival_is_cancelled_unfilled() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (99.0, 99.1))
    o = order(Side.BUY, OrderType.LIMIT, TimeInForce.IOC, limit_price=99.5)
    [(p, outcome)] = drive(o, ts, bid, ask, COSTS)
    assert (p, outcome.quantity, outcome.status) == (0, 0, OrderStatus.CANCELLED)


def test_fok_is_all_or_nothing() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (100.0, 100.1))
    short = order(Side.SELL, OrderType.MARKET, TimeInForce.FOK)
    [(_, outcome)] = drive(short, ts, bid, ask, COSTS, np.array([99, 1000]))
    assert (outcome.quantity, outcome.status) == (0, OrderStatus.CANCELLED)
    enough = order(Side.SELL, OrderType.MARKET, TimeInForce.FOK)
    [(_, outcome)] = drive(enough, ts, bid, ask, COSTS, np.array([100, 1000]))
    assert (outcome.quantity, outcome.price, outcome.status) == (100, 99.99, OrderStatus.FILLED)


def test_fok_on_a_crossed_quote_is_rejected_with_the_reason() -> None:
    ts, bid, ask = quotes((100.2, 100.1), (100.0, 100.1))
    o = order(Side.BUY, OrderType.MARKET, TimeInForce.FOK)
    [(p, outcome)] = drive(o, ts, bid, ask, COSTS)
    assert (p, outcome.status) == (0, OrderStatus.REJECTED)
    assert "crossed" in outcome.reason


def test_a_day_order_expires_unfilled() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (100.0, 100.1), (99.0, 99.1))
    o = order(Side.BUY, OrderType.LIMIT, TimeInForce.DAY, limit_price=99.5, expires_ts=2000)
    [(p, outcome)] = drive(o, ts, bid, ask, COSTS)
    assert (p, outcome.quantity, outcome.status) == (2, 0, OrderStatus.EXPIRED)


def test_a_stale_or_crossed_quote_is_refused_with_a_reason() -> None:
    assert usable_quote(100.0, 100.1, 1000, 1500, 1000) == ""
    assert "stale" in usable_quote(100.0, 100.1, 1000, 2001, 1000)
    assert "crossed" in usable_quote(100.2, 100.1, 1000, 1000, None)
    assert usable_quote(100.1, 100.1, 1000, 1000, None) == ""  # a bar: a price, width 0
    assert "locked" in usable_quote(100.1, 100.1, 1000, 1000, None, sized=True)
    assert usable_quote(100.0, 100.1, 1000, 1000, None, sized=True) == ""


def test_a_locked_quote_with_sizes_is_not_filled_against_but_a_locked_price_is() -> None:
    ts, bid, ask = quotes((100.0, 100.0), (100.0, 100.1), (100.1, 100.1))
    sized = order(Side.BUY, OrderType.MARKET)
    # the locked first quote has sizes: the order waits for the next, real, one
    assert fills(drive(sized, ts, bid, ask, COSTS, np.array([500, 500, 500]))) == [(1, 100, 100.11)]
    # the same prices without sizes are bars or trades: the first fills at its price
    priced = order(Side.BUY, OrderType.MARKET)
    assert fills(drive(priced, ts, bid, ask, COSTS, np.array([NO_SIZE] * 3))) == [(0, 100, 100.01)]
    assert fills(drive(order(Side.BUY, OrderType.MARKET), ts, bid, ask, COSTS)) == [
        (0, 100, 100.01)
    ]


def test_ioc_and_fok_on_a_locked_quote_with_sizes_are_rejected_with_the_reason() -> None:
    ts, bid, ask = quotes((100.0, 100.0), (100.0, 100.1))
    for tif in (TimeInForce.IOC, TimeInForce.FOK):
        o = order(Side.SELL, OrderType.MARKET, tif)
        [(p, outcome)] = drive(o, ts, bid, ask, COSTS, np.array([300, 300]))
        assert (p, outcome.quantity, outcome.status) == (0, 0, OrderStatus.REJECTED)
        assert "locked quote" in outcome.reason


def test_a_locked_quote_with_sizes_neither_triggers_a_stop_nor_moves_a_trailing_stop() -> None:
    ts, bid, ask = quotes((100.0, 100.1), (97.0, 97.0), (105.0, 105.0), (99.0, 99.1))
    sizes = np.array([100, 100, 100, 100])
    stop = order(Side.SELL, OrderType.STOP, stop_price=98.0)
    assert fills(drive(stop, ts, bid, ask, COSTS, sizes)) == []  # 97 was locked: no trigger
    trail = order(Side.SELL, OrderType.TRAILING_STOP, trail_amount=1.0)
    # the reference stays at 100.0 (105 was locked), so a bid of 99.0 reaches the 99.0 stop
    assert fills(drive(trail, ts, bid, ask, COSTS, sizes)) == [(3, 100, 98.99)]
