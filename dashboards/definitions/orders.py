"""The orders panels of the signal feed: orders open at the end of the time range, their status
changes over time, and the resting orders themselves.

An order's rows in `paper_orders` are its status changes; its state at a moment is its latest
row by (ts, sequence) up to then, taken here with `argMax` over (ts, sequence) of the few
columns a panel shows (the API's pages choose differently: sinks/store/orders.py).
`$__toTime_ms` is the range's end: "now" on a live dashboard, so these read as the orders open
now.

The panels may be empty (a run whose accounts place only market orders that fill at once has
no resting order), so their rows are not required by the generic panel test; a test of their
values (tests/dashboards/test_order_panels.py) reads a known book instead.
"""

from __future__ import annotations

from dashboards.definitions.common import (
    RUN,
    STACKED_BARS,
    TABLE_OPTIONS,
    TIMESERIES_OPTIONS,
    accounts,
    color_by_value,
    stat,
    symbols,
)
from dashboards.model import Panel, Row, num, text, time_col

ORDER_FILTER = f"{RUN} AND {accounts()} AND {symbols('underlying')}"
OPEN = "('new', 'partially_filled')"
ORDER_STATUS_COLORS = {
    "new": "blue",
    "partially_filled": "yellow",
    "filled": "green",
    "cancelled": "purple",
    "expired": "orange",
    "rejected": "red",
    "replaced": "text",
}


def _states(fields: str) -> str:
    """Each order's latest row up to the range's end, as a tuple `o` of `fields`."""
    return (
        f"SELECT order_id, account_id, argMax(tuple({fields}), (ts, sequence)) AS o\n"
        f"FROM paper_orders WHERE {ORDER_FILTER} AND ts <= $__toTime_ms\n"
        "GROUP BY order_id, account_id"
    )


def order_panels() -> tuple[Row | Panel, ...]:
    open_orders = stat(
        "Open orders",
        f"SELECT countIf(o.1 IN {OPEN}) AS open_orders FROM ({_states('status')})",
        "open_orders",
        "short",
        "Orders resting at the end of the time range (new or partially filled).",
    )
    by_status = Panel(
        title="Order status changes",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, status, count() AS orders\n"
            f"FROM paper_orders FINAL WHERE {ORDER_FILTER} AND $__timeFilter_ms(ts)\n"
            "GROUP BY time, status\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("status"), *num("orders")),
        width=20,
        height=8,
        unit="short",
        display_name="${__field.labels.status}",
        custom=STACKED_BARS,
        options=TIMESERIES_OPTIONS,
        overrides=tuple(
            {
                "matcher": {"id": "byName", "options": status},
                "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
            }
            for status, color in ORDER_STATUS_COLORS.items()
        ),
        description="Orders reaching each status per interval: placed (new), partially "
        "filled, filled, cancelled, expired, rejected.",
        expect_rows=False,
    )
    fields = (
        "placed_ts, instrument, side, order_type, quantity, filled_quantity, limit_price, "
        "stop_price, time_in_force, purpose, status"
    )
    resting = Panel(
        title="Resting orders",
        type="table",
        sql=(
            "SELECT o.1 AS time, account_id, order_id, o.2 AS instrument, o.3 AS side,\n"
            "       o.4 AS order_type, o.5 AS quantity, o.6 AS filled, o.7 AS limit_price,\n"
            "       o.8 AS stop_price, o.9 AS time_in_force, o.10 AS purpose, o.11 AS status\n"
            f"FROM ({_states(fields)})\n"
            f"WHERE o.11 IN {OPEN}\n"
            "ORDER BY time DESC, order_id DESC\n"
            "LIMIT 500"
        ),
        columns=(
            time_col(),
            *text("account_id", "order_id", "instrument", "side", "order_type"),
            *num("quantity", "filled", "limit_price", "stop_price"),
            *text("time_in_force", "purpose", "status"),
        ),
        width=24,
        height=8,
        options=TABLE_OPTIONS,
        overrides=(color_by_value("status", ORDER_STATUS_COLORS),),
        description="Orders resting at the end of the time range, newest placed first (time "
        "is when the order was placed); cancel one in the console or with `strikeflow orders "
        "cancel`.",
        expect_rows=False,
    )
    return Row("Orders"), open_orders, by_status, resting
