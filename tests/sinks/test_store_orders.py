"""Orders read back from the real ClickHouse engine: each order's state (its latest row), the
listing's filters and cursor paging, and one order's history.

Tests share one database and keep apart by run id."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from sinks.store.filters import RunFilter
from sinks.store.orders import OrderFilter, order_history, orders
from sinks.store.records import Listing
from sinks.store.rows import insert
from tests.orders_support import T0, order_book, order_event

pytestmark = pytest.mark.integration


def listed(client: Client, run: str, chosen: OrderFilter, **listing: object) -> list[str]:
    page = orders(client, Listing(rows=RunFilter(run), limit=100, **listing), chosen)  # type: ignore[arg-type]
    assert page.next is None
    return [order.order_id for order in page.items]


def test_each_order_is_listed_once_as_its_latest_row(module_ch: Client) -> None:
    insert(module_ch, list(order_book("latest", "alice")))
    page = orders(module_ch, Listing(rows=RunFilter("latest"), limit=100), OrderFilter())
    assert [order.order_id for order in page.items] == ["o6", "o5", "o4", "o3", "o2", "o1"]
    state = {order.order_id: order for order in page.items}
    assert state["o1"].status == "partially_filled"
    assert state["o1"].filled_quantity == 40
    assert state["o1"].sequence == 1
    assert state["o5"].status == "cancelled"
    assert state["o5"].reason == "cancelled by operator"
    assert state["o3"].stop_price == pytest.approx(181.45)
    assert state["o3"].limit_price is None


def test_the_latest_row_is_by_ts_then_sequence_whatever_the_write_order(
    module_ch: Client,
) -> None:
    later = order_event("seq", "alice", "x1", 2, T0 + 10, placed_ts=T0, status="filled",
                        filled_quantity=100)  # fmt: skip
    same_ts = order_event("seq", "alice", "x1", 1, T0 + 10, placed_ts=T0,
                          status="partially_filled", filled_quantity=50)  # fmt: skip
    insert(module_ch, [later])
    insert(module_ch, [same_ts, order_event("seq", "alice", "x1", 0, T0)])
    insert(module_ch, [later])  # a replayed write: the same row again
    page = orders(module_ch, Listing(rows=RunFilter("seq"), limit=10), OrderFilter())
    assert [(o.order_id, o.sequence, o.status) for o in page.items] == [("x1", 2, "filled")]
    history = order_history(module_ch, "seq", "x1")
    assert [row.sequence for row in history] == [0, 1, 2]


def test_filters_on_what_an_order_is_and_where_it_stands(module_ch: Client) -> None:
    insert(module_ch, order_book("filters", "alice") + order_book("filters", "bob", "b"))
    # both accounts' books, placed at the same times: the id breaks the tie
    assert listed(module_ch, "filters", OrderFilter(open=True), order="asc") == [
        "b1", "o1", "b3", "o3", "b4", "o4",
    ]  # fmt: skip
    only_alice = Listing(rows=RunFilter("filters", "alice"), limit=100, order="asc")
    resting = orders(module_ch, only_alice, OrderFilter(open=True)).items
    assert [o.order_id for o in resting] == ["o1", "o3", "o4"]
    finished = orders(module_ch, only_alice, OrderFilter(open=False)).items
    assert [o.order_id for o in finished] == ["o2", "o5", "o6"]
    assert listed(module_ch, "filters", OrderFilter(status="rejected")) == ["o6", "b6"]
    assert listed(module_ch, "filters", OrderFilter(underlying="MSFT")) == ["o4", "b4"]
    assert listed(module_ch, "filters", OrderFilter(instrument="MSFT", open=True)) == ["o4", "b4"]
    assert listed(module_ch, "filters", OrderFilter(purpose="stop_loss")) == ["o3", "b3"]
    # status is the order's state: o1 was new once, and is not listed as new now
    assert "o1" not in listed(module_ch, "filters", OrderFilter(status="new"))
    assert listed(module_ch, "other-run", OrderFilter()) == []


def test_a_time_range_selects_orders_by_when_they_were_placed(module_ch: Client) -> None:
    insert(module_ch, order_book("range", "alice"))
    # o1 was placed at T0+1s and last changed at T0+6s; o5 placed at T0+5s, changed at T0+14s
    window = RunFilter("range", None, T0 + 1000, T0 + 3000)
    page = orders(module_ch, Listing(rows=window, limit=10, order="asc"), OrderFilter())
    assert [o.order_id for o in page.items] == ["o1", "o2"]


def test_paging_visits_every_order_once_even_as_orders_change(module_ch: Client) -> None:
    insert(module_ch, order_book("paging", "alice"))
    seen: list[str] = []
    listing = Listing(rows=RunFilter("paging"), limit=2)
    page = orders(module_ch, listing, OrderFilter())
    seen += [o.order_id for o in page.items]
    # between two pages, an order on the first page fills: its ts moves, its place does not
    insert(module_ch, [order_event("paging", "alice", "o6", 1, T0 + 60_000, placed_ts=T0 + 6000,
                                   quantity=5, status="filled", filled_quantity=5)])  # fmt: skip
    while page.next is not None:
        listing = Listing(rows=RunFilter("paging"), limit=2, after=page.next)
        page = orders(module_ch, listing, OrderFilter())
        seen += [o.order_id for o in page.items]
    assert seen == ["o6", "o5", "o4", "o3", "o2", "o1"]


def test_an_orders_history_is_every_row_in_order(module_ch: Client) -> None:
    insert(module_ch, order_book("history", "alice") + order_book("history-2", "alice"))
    history = order_history(module_ch, "history", "o5")
    assert [(row.sequence, row.status) for row in history] == [(0, "new"), (1, "cancelled")]
    assert order_history(module_ch, "history", "nope") == []
    assert order_history(module_ch, "history-3", "o5") == []
