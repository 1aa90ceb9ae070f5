"""Benchmark: how `GET /orders` finds a page of orders, each as its latest row. The store
(sinks/store/orders.py) picks the page over five narrow columns with `LIMIT 1 BY order_id`
and then reads only its orders' rows whole; the alternatives find every order's whole latest
row first: with `LIMIT 1 BY`, with FINAL and `LIMIT 1 BY`, or with `argMax` of a tuple of
every column over (ts, sequence) grouped by order.

Run from the repository root:

    .venv/bin/python benchmarks/orders_listing.py [--orders 100000]

A fresh chdb database gets `--orders` orders of 20 accounts with one to three status rows each
(about 2.4 rows an order), written in four inserts (four parts, as a flow's batches leave
them) plus a replay of a tenth of the orders' rows (copies a merge has not collapsed). Two
questions, each answered every way, interleaved: the first page (100) of one account's resting
orders, and of the whole run's. Every way must return the same rows. Each timing is the median
of `REPEATS` runs; the ratios are to the store's way. Prints a Markdown table for RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from clickhouse_connect.driver.client import Client
from common import machine_line

from schemas.tables import column_names
from schemas.trading import OrderEvent
from sinks.clickhouse.client import connect, migrate
from sinks.store.filters import RunFilter
from sinks.store.orders import OrderFilter, orders
from sinks.store.records import Listing

REPEATS = 9
T0 = 1_795_000_000_000
ACCOUNTS = 20

ROWS = """
INSERT INTO paper_orders
SELECT
    concat('o', toString(k), ':', toString(s)), concat('o', toString(k)), s, '', '', '',
    'live', concat('acct-', toString(k % {accounts})),
    fromUnixTimestamp64Milli(toInt64({t0} + k * 1000 + s * 5000), 'UTC'),
    fromUnixTimestamp64Milli(toInt64({t0} + k * 1000), 'UTC'),
    'AAPL', 'AAPL', 'equity', 'buy', 'limit', 'gtc', 'entry', 100,
    multiIf(s = 0, 0, s = 1 AND k % 4 = 0, 40, 100), if(s = 0, 0, 190.4),
    190.5, NULL, NULL, NULL,
    multiIf(s = 0, 'new', k % 4 = 0, 'partially_filled', k % 4 = 1, 'filled',
            s = 1, 'partially_filled', 'cancelled'),
    ''
FROM (SELECT number AS k, arrayJoin(range(1 + (number % 3 != 0) + (number % 4 > 1))) AS s
      FROM numbers({start}, {count}))
WHERE {where}
"""


def fill(client: Client, count: int) -> int:
    """`count` orders in four inserts, then a replayed tenth; the number of rows written."""
    quarter = -(-count // 4)
    for start in range(0, count, quarter):
        part = min(quarter, count - start)
        client.command(ROWS.format(accounts=ACCOUNTS, t0=T0, start=start, count=part, where="1"))
    client.command(ROWS.format(accounts=ACCOUNTS, t0=T0, start=0, count=count, where="k % 10 = 0"))
    rows: int = client.query("SELECT count() FROM paper_orders").result_rows[0][0]
    return rows


COLUMNS = ", ".join(f"`{name}`" for name in column_names(OrderEvent))
OTHERS = [name for name in column_names(OrderEvent) if name != "order_id"]
Page = list[tuple[str, str, int]]  # (event_id, order_id, sequence) of each row


def _ask(client: Client, account: str | None, limit: int, latest: str) -> Page:
    """The page's whole rows, from `latest` (each order's latest row, every column)."""
    where = RunFilter("live", account).where()
    result = client.query(
        f"SELECT {COLUMNS} FROM ({latest.format(where=where.sql)}) "
        "WHERE status IN ('new', 'partially_filled') "
        "ORDER BY placed_ts DESC, order_id DESC LIMIT {_limit:UInt32}",
        parameters={**where.parameters, "_limit": limit},
    )
    return [(row[0], row[1], row[2]) for row in result.result_rows]


def with_limit_by(client: Client, account: str | None, limit: int) -> Page:
    """Each order's whole latest row with LIMIT 1 BY, then the page."""
    latest = (
        f"SELECT {COLUMNS} FROM paper_orders WHERE {{where}} "
        "ORDER BY order_id, ts DESC, sequence DESC LIMIT 1 BY order_id"
    )
    return _ask(client, account, limit, latest)


def with_final(client: Client, account: str | None, limit: int) -> Page:
    """The same with FINAL."""
    latest = (
        f"SELECT {COLUMNS} FROM paper_orders FINAL WHERE {{where}} "
        "ORDER BY order_id, ts DESC, sequence DESC LIMIT 1 BY order_id"
    )
    return _ask(client, account, limit, latest)


def with_arg_max(client: Client, account: str | None, limit: int) -> Page:
    """Each order's state as argMax of a tuple of every column, grouped by order."""
    state = ", ".join(f"`{name}`" for name in OTHERS)
    unpacked = ", ".join(
        f"tupleElement(state, {number}) AS `{name}`" for number, name in enumerate(OTHERS, 1)
    )
    latest = (
        f"SELECT order_id, {unpacked} FROM (SELECT order_id, "
        f"argMax(tuple({state}), (ts, sequence)) AS state FROM paper_orders "
        "WHERE {where} GROUP BY order_id)"
    )
    return _ask(client, account, limit, latest)


def with_store(client: Client, account: str | None, limit: int) -> Page:
    """The store's way: the page's keys over five columns, then its rows whole (as models)."""
    listing = Listing(rows=RunFilter("live", account), limit=limit)
    page = orders(client, listing, OrderFilter(open=True))
    return [(order.event_id, order.order_id, order.sequence) for order in page.items]


WAYS = {
    "store": with_store,
    "limit_by": with_limit_by,
    "final": with_final,
    "argmax": with_arg_max,
}


def measure(client: Client, account: str | None) -> dict[str, float]:
    """Median seconds of each way, interleaved; all must list the same orders."""
    expected = with_store(client, account, 100)
    assert len(expected) == 100
    for name, way in WAYS.items():
        assert way(client, account, 100) == expected, name
    times: dict[str, list[float]] = {name: [] for name in WAYS}
    for _ in range(REPEATS):
        for name, way in WAYS.items():
            start = time.perf_counter()
            way(client, account, 100)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    count = parser.parse_args().orders
    with tempfile.TemporaryDirectory() as directory:
        client = connect(f"chdb://{directory}", "bench")
        migrate(client)
        rows = fill(client, count)
        print(f"{machine_line()}; {count:,} orders, {rows:,} rows, {REPEATS} repeats\n")
        print(
            "| page of 100 resting orders | store: keys, then rows | whole rows, LIMIT 1 BY "
            "| whole rows, FINAL + LIMIT 1 BY | whole rows, argMax(tuple) |"
        )
        print("|---|---:|---:|---:|---:|")
        for label, account in (("one account (of 20)", "acct-7"), ("whole run", None)):
            found = measure(client, account)
            store = found["store"]
            others = " | ".join(
                f"{found[name] * 1000:.0f} ms ({found[name] / store:.1f}×)"
                for name in ("limit_by", "final", "argmax")
            )
            print(f"| {label} | {store * 1000:.0f} ms | {others} |")
        client.close()


if __name__ == "__main__":
    main()
