"""What became of a control command, as the flow's tables tell it: the alert that refused it,
the trading state it produced, or the order rows it wrote (a cancel or a replace)."""

from __future__ import annotations

from typing import cast

from clickhouse_connect.driver.client import Client

from schemas.tables import column_names, from_row
from schemas.trading import OrderEvent, TradingState
from sinks.store.filters import RunFilter
from sinks.store.rows import select_ordered

# The alert kinds by which the flow refuses a command: a state change that does not apply, a
# cancel or a replace of an order that is not working (or with terms that do not fit it).
REFUSALS: tuple[str, ...] = ("command_rejected", "cancel_rejected", "replace_rejected")

# More rows than one command writes: a stop or kill switch cancels each working order once.
_MOST_ORDER_ROWS = 10_000


def command_refusal(client: Client, run_id: str, command_id: str) -> tuple[str, str] | None:
    """(account, message) of the alert that refused `command_id`, if any. The flow writes its
    message as "command <id>: <why>" or "command <id> (<action>) <why>"."""
    result = client.query(
        "SELECT account_id, message FROM alerts FINAL WHERE run_id = {run:String} "
        "AND kind IN {kinds:Array(String)} AND (startsWith(message, {colon:String}) "
        "OR startsWith(message, {paren:String})) ORDER BY ts LIMIT 1",
        parameters={
            "run": run_id,
            "kinds": list(REFUSALS),
            "colon": f"command {command_id}: ",
            "paren": f"command {command_id} (",
        },
    )
    if not result.result_rows:
        return None
    account, message = result.result_rows[0]
    return str(account), str(message)


def command_state(client: Client, run_id: str, command_id: str) -> TradingState | None:
    """The first trading state that `command_id` produced, while the table still holds it.

    Without FINAL: the table keeps an account's latest state only, so a state a later command
    replaced is found until ClickHouse merges it away."""
    names = column_names(TradingState)
    columns = ", ".join(f"`{name}`" for name in names)
    result = client.query(
        f"SELECT {columns} FROM auto_trade_state WHERE run_id = {{run:String}} "
        "AND command_id = {command:String} ORDER BY version LIMIT 1",
        parameters={"run": run_id, "command": command_id},
    )
    if not result.result_rows:
        return None
    row = dict(zip(names, result.result_rows[0], strict=True))
    return cast(TradingState, from_row(TradingState, row))


def command_orders(client: Client, run_id: str, command_id: str) -> list[OrderEvent]:
    """The order rows `command_id` wrote, in the order written: a cancel's `cancelled` row, a
    replace's `replaced` row then its successor's `new` row, the cancels of a stop; [] if none.
    Unlike a trading state these rows stay, so an applied cancel or replace stays readable."""
    where = RunFilter(run_id).where().and_("command_id = {command:String}", command=command_id)
    return select_ordered(
        client,
        OrderEvent,
        where.sql,
        where.parameters,
        "ts, placed_ts, order_id, sequence",
        _MOST_ORDER_ROWS,
    )
