"""Orders as the control plane reads them: each order's state (its latest `paper_orders` row),
a page at a time, and one order's whole history.

An order's rows are its status changes (schemas.trading.OrderEvent); its state is the row with
the greatest (ts, sequence): the rows sorted by (order_id, ts DESC, sequence DESC), `LIMIT 1 BY
order_id`, without FINAL. A replayed write repeats a row exactly (same ids, same values) and
LIMIT 1 BY keeps one row per order anyway, so copies a merge has not collapsed yet change
nothing, and FINAL's merge at read time would be paid for nothing. The page is chosen over the
five columns that decide it, then only its orders' rows are read whole: on a run of 100,000
orders that is several times cheaper than finding every order's whole latest row, whether by
LIMIT 1 BY, FINAL or `argMax` of a tuple of the columns (benchmarks/orders_listing.py; see
benchmarks/RESULTS.md).

Orders page by when they were placed, (placed_ts, order_id), newest first by default: unlike
`ts`, an order's `placed_ts` never changes, so a page boundary stays put while orders fill or
are cancelled between two page reads. The listing's time range selects on `placed_ts` too.
Filters on what an order is (run, account, underlying, instrument, purpose) apply to its rows;
filters on where it stands (status, open) apply to its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from clickhouse_connect.driver.client import Client

from schemas.common import OrderStatus
from schemas.tables import column_names, from_row
from schemas.trading import OrderEvent
from sinks.store.filters import RunFilter, Where
from sinks.store.records import Listing, Position, RecordPage
from sinks.store.rows import select_ordered

# Statuses in which an order still rests in the market and may fill or be cancelled.
OPEN_STATUSES: tuple[str, ...] = (OrderStatus.NEW.value, OrderStatus.PARTIALLY_FILLED.value)
_COLUMNS = column_names(OrderEvent)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """What an order is and where it stands; None leaves a filter out. `open` True: only
    resting orders (new, partially filled); False: only finished ones."""

    underlying: str | None = None
    instrument: str | None = None
    purpose: str | None = None
    status: str | None = None
    open: bool | None = None


def _identity_where(rows: Where, chosen: OrderFilter) -> Where:
    """`rows` (run, account) and the filters on what an order is, which hold for all its rows."""
    return (
        rows.and_("underlying = {underlying:String}", underlying=chosen.underlying)
        .and_("instrument = {instrument:String}", instrument=chosen.instrument)
        .and_("purpose = {purpose:String}", purpose=chosen.purpose)
    )


def _state_where(listing: Listing, chosen: OrderFilter) -> Where:
    """Conditions on the orders' states: status, open, placed time, and the page's start."""
    where = Where().and_("status = {status:String}", status=chosen.status)
    if chosen.open is not None:
        where = where.and_(
            f"status {'IN' if chosen.open else 'NOT IN'} {{open_statuses:Array(String)}}",
            open_statuses=list(OPEN_STATUSES),
        )
    since = "placed_ts >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')"
    until = "placed_ts < fromUnixTimestamp64Milli({end:Int64}, 'UTC')"
    where = where.and_(since, start=listing.rows.start).and_(until, end=listing.rows.end)
    if listing.after is None:
        return where
    beyond = "<" if listing.order == "desc" else ">"
    return where.and_(
        f"(placed_ts {beyond} fromUnixTimestamp64Milli({{cursor_ts:Int64}}, 'UTC') OR "
        f"(placed_ts = fromUnixTimestamp64Milli({{cursor_ts:Int64}}, 'UTC') "
        f"AND order_id {beyond} {{cursor_id:String}}))",
        cursor_ts=listing.after.ts,
        cursor_id=listing.after.row_id,
    )


def orders(client: Client, listing: Listing, chosen: OrderFilter) -> RecordPage[OrderEvent]:
    """One page of orders, each as its latest row, by (placed_ts, order_id) in the listing's
    order.

    Two steps in one query: the page's orders are found over the few columns that decide it
    (the latest row's key, status and placed time), and only their rows are then read whole.
    """
    identity = _identity_where(
        RunFilter(listing.rows.run_id, listing.rows.account_id).where(), chosen
    )
    state = _state_where(listing, chosen)
    direction = "DESC" if listing.order == "desc" else "ASC"
    page_order = f"ORDER BY placed_ts {direction}, order_id {direction}"
    latest = (
        "SELECT order_id, ts, sequence, status, placed_ts "
        f"FROM {OrderEvent.table} WHERE {identity.sql} "
        "ORDER BY order_id, ts DESC, sequence DESC LIMIT 1 BY order_id"
    )
    keys = (
        f"SELECT order_id, ts, sequence FROM ({latest}) WHERE {state.sql} "
        f"{page_order} LIMIT {{_limit:UInt32}}"
    )
    columns = ", ".join(f"`{name}`" for name in _COLUMNS)
    result = client.query(
        f"SELECT {columns} FROM {OrderEvent.table} WHERE {identity.sql} "
        f"AND (order_id, ts, sequence) IN ({keys}) "
        f"{page_order} LIMIT 1 BY order_id LIMIT {{_limit:UInt32}}",
        parameters={**identity.parameters, **state.parameters, "_limit": listing.limit + 1},
    )
    found = [
        cast(OrderEvent, from_row(OrderEvent, dict(zip(_COLUMNS, row, strict=True))))
        for row in result.result_rows
    ]
    items = found[: listing.limit]
    if len(found) <= listing.limit:
        return RecordPage(items, None)
    last = items[-1]
    return RecordPage(items, Position(last.placed_ts, last.order_id))


def order_history(client: Client, run_id: str, order_id: str) -> list[OrderEvent]:
    """Every row of one order of a run, oldest first (its state is the last); [] if unknown."""
    where = RunFilter(run_id).where().and_("order_id = {order:String}", order=order_id)
    return select_ordered(
        client, OrderEvent, where.sql, where.parameters, "ts, sequence, event_id", 100_000
    )
