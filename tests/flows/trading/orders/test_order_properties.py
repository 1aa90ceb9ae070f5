"""Properties of the order engine over random quotes and orders (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.orders import Outcome, RestingOrder, drive, first_event, follow, step
from flows.trading.paper_broker import slippage_per_unit
from flows.trading.ticks import NO_SIZE
from schemas.common import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from schemas.config import Costs

COSTS = Costs(slippage_bps=2.0, slippage_ticks=1, tick_size=0.01)
GRID = 0.00005  # fill prices are rounded to the 0.0001 grid: half a step either way


@st.composite
def markets(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(1, 60))
    mids = np.cumsum(draw(st.lists(st.floats(-2, 2), min_size=n, max_size=n))) + 100.0
    spreads = np.array(
        draw(st.lists(st.sampled_from([-0.05, 0.0, 0.01, 0.05]), min_size=n, max_size=n))
    )
    # A quoted size (0 included: nothing at that price) or none: a tick that is a price.
    size = st.just(NO_SIZE) | st.integers(0, 80)
    sizes = np.array(draw(st.lists(size, min_size=n, max_size=n)), dtype=np.int64)
    bid = np.round(mids - np.maximum(spreads, 0) / 2 + np.minimum(spreads, 0), 2)
    ask = np.round(bid + spreads, 2)
    ts = np.cumsum(np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))) * 1000
    return ts.astype(np.int64), bid, ask, sizes


@st.composite
def orders(draw: st.DrawFn) -> RestingOrder:
    kind = draw(st.sampled_from(list(OrderType)))
    side = draw(st.sampled_from(list(Side)))
    level = round(draw(st.floats(90, 110)), 2)
    terms: dict[str, object] = {}
    if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        terms["limit_price"] = level
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
        terms["stop_price"] = round(level + draw(st.floats(-3, 3)), 2)
    if kind == OrderType.TRAILING_STOP:
        if draw(st.booleans()):
            terms["trail_amount"] = draw(st.floats(0.01, 3))
        else:
            terms["trail_percent"] = draw(st.floats(0.001, 0.05))
    return RestingOrder(
        order_id="o",
        instrument="X",
        underlying="X",
        asset_class=AssetClass.EQUITY,
        multiplier=1,
        side=side,
        quantity=draw(st.integers(1, 200)),
        order_type=kind,
        time_in_force=draw(st.sampled_from(list(TimeInForce))),
        purpose="entry",
        placed_ts=0,
        active_ts=draw(st.integers(0, 5000)),
        expires_ts=draw(st.none() | st.integers(0, 120_000)),
        **terms,  # type: ignore[arg-type]
    )


def in_pieces(
    order: RestingOrder, market: tuple[np.ndarray, ...], cut: int, sized: bool
) -> list[tuple[int, Outcome]]:
    """The engine driven as the account stage drives it: a stretch of `cut` quotes at a time,
    the trailing reference carried over the quotes of a stretch without an event."""
    ts, bid, ask, sizes = market
    events: list[tuple[int, Outcome]] = []
    for start in range(0, len(ts), cut):
        cursor, stop = start, min(start + cut, len(ts))
        while cursor < stop and not order.final:
            size = sizes[cursor:stop] if sized else None
            hit = first_event(order, ts[cursor:stop], bid[cursor:stop], ask[cursor:stop], size)
            if hit is None:
                break
            p = cursor + hit
            seen = slice(cursor, p + 1)
            follow(order, ts[seen], bid[seen], ask[seen], sizes[seen] if sized else None)
            outcome = step(
                order, float(bid[p]), float(ask[p]), int(sizes[p]) if sized else None, COSTS
            )
            if outcome.quantity or outcome.status is not None:
                events.append((p, outcome))
            cursor = p + 1
        else:
            rest = slice(cursor, stop)
            follow(order, ts[rest], bid[rest], ask[rest], sizes[rest] if sized else None)
            continue
        rest = slice(cursor, stop)
        follow(order, ts[rest], bid[rest], ask[rest], sizes[rest] if sized else None)
    return events


@settings(max_examples=300, deadline=None)
@given(markets(), orders(), st.booleans())
def test_fills_stay_within_the_quote_plus_slippage_and_never_on_a_bad_quote(
    market: tuple[np.ndarray, ...], order: RestingOrder, sized: bool
) -> None:
    ts, bid, ask, sizes = market
    events = drive(order, ts, bid, ask, COSTS, sizes if sized else None)
    total = 0
    for p, outcome in events:
        quoted = sized and sizes[p] != NO_SIZE
        # an expiry is placed at the first quote at or after it, whatever that quote is
        expired = outcome.status == OrderStatus.EXPIRED
        if quoted and bid[p] == ask[p] and order.on_arrival_only and not expired:
            assert outcome.status == OrderStatus.REJECTED
            assert "locked quote" in outcome.reason
        if not outcome.quantity:
            continue
        total += outcome.quantity
        assert bid[p] <= ask[p], "filled on a crossed quote"
        assert not (quoted and bid[p] == ask[p]), "filled on a locked quote with sizes"
        assert ts[p] >= order.active_ts, "filled before the order reached the market"
        if quoted:
            assert outcome.quantity <= sizes[p], "filled above the quoted size"
        if order.side == Side.BUY:
            assert (
                bid[p] - GRID <= outcome.price <= ask[p] + slippage_per_unit(ask[p], COSTS) + GRID
            )
        else:
            assert (
                bid[p] - slippage_per_unit(bid[p], COSTS) - GRID <= outcome.price <= ask[p] + GRID
            )
        if order.limit_price is not None and order.side == Side.BUY:
            assert outcome.price <= order.limit_price + GRID
        if order.limit_price is not None and order.side == Side.SELL:
            assert outcome.price >= order.limit_price - GRID
    assert total == order.filled <= order.quantity
    if order.time_in_force == TimeInForce.FOK:
        assert total in (0, order.quantity)


@settings(max_examples=300, deadline=None)
@given(markets(), orders(), st.booleans())
def test_the_outcome_does_not_depend_on_where_the_quotes_are_cut(
    market: tuple[np.ndarray, ...], order: RestingOrder, sized: bool
) -> None:
    ts, bid, ask, sizes = market
    whole = replace(order)
    expected = drive(whole, ts, bid, ask, COSTS, sizes if sized else None)
    expected = [e for e in expected if e[1].reason != "expired"]  # expiry is the stage's boundary
    for cut in (1, 7, 1000):
        assert in_pieces(replace(order), market, cut, sized) == expected
