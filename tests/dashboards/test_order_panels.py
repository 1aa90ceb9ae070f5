"""The signal feed's orders panels read each order's state at the end of the time range
(Grafana cannot run here: their SQL runs on chdb with the macros expanded)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from dashboards.macros import TimeRange, expand
from sinks.store.rows import insert
from tests.dashboards.dashboard_rows import TIME_RANGE
from tests.dashboards.test_dashboard_queries import (  # noqa: F401 (a fixture)
    DASHBOARDS,
    filled,
    panel,
    resolve_variables,
    run_query,
)
from tests.orders_support import T0, order_book

pytestmark = pytest.mark.integration


def rows_of(ch: Client, title: str, until: int = TIME_RANGE.to_ms) -> list[Sequence[Any]]:
    """The panel's rows with every variable at All, over a range ending at `until`."""
    (dashboard,) = [d for d in DASHBOARDS if d.uid == "strikeflow-signals"]
    variables = resolve_variables(ch, dashboard, "all")
    chosen = TimeRange(TIME_RANGE.from_ms, until, TIME_RANGE.interval_ms)
    _, rows = run_query(ch, expand(panel("strikeflow-signals", title).sql, variables, chosen))
    return rows


@pytest.fixture(scope="module")
def book(filled: Client) -> Client:  # noqa: F811
    insert(filled, list(order_book("live", "alpha")))
    insert(filled, list(order_book("live", "alpha")))  # a replayed write: nothing counts twice
    insert(filled, list(order_book("bt-2", "bt2-main", "t")))  # another run: not counted
    return filled


def test_open_orders_are_those_resting_at_the_end_of_the_range(book: Client) -> None:
    assert rows_of(book, "Open orders") == [(3,)]  # o1 (partially filled), o3, o4
    # ending before o5 (placed at T0+5s) was cancelled at T0+14s, and before o1 was placed
    assert rows_of(book, "Open orders", until=T0 + 10_000) == [(4,)]
    assert rows_of(book, "Open orders", until=T0) == [(0,)]


def test_resting_orders_list_each_open_order_once_with_its_state(book: Client) -> None:
    rows = rows_of(book, "Resting orders")
    assert [(row[2], row[12]) for row in rows] == [
        ("o4", "new"), ("o3", "new"), ("o1", "partially_filled"),
    ]  # fmt: skip
    assert rows[2][6:8] == (100, 40)  # quantity, filled so far
    assert rows[1][9] == pytest.approx(181.45)  # o3's stop


def test_status_changes_count_each_row_once_by_status(book: Client) -> None:
    counts: dict[str, int] = defaultdict(int)
    for _, status, orders in rows_of(book, "Order status changes"):
        counts[status] += orders
    assert dict(counts) == {
        "new": 5, "partially_filled": 1, "filled": 1, "cancelled": 1, "rejected": 1,
    }  # fmt: skip
