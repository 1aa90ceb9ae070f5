"""What became of a control command, as the flow's tables tell it: the alert that refused it,
or the trading state it produced."""

from __future__ import annotations

from typing import cast

from clickhouse_connect.driver.client import Client

from schemas.tables import column_names, from_row
from schemas.trading import TradingState


def command_refusal(client: Client, run_id: str, command_id: str) -> tuple[str, str] | None:
    """(account, message) of the `command_rejected` alert of `command_id`, if any. The flow
    writes its message as "command <id>: <why>" or "command <id> (<action>) <why>"."""
    result = client.query(
        "SELECT account_id, message FROM alerts FINAL WHERE run_id = {run:String} "
        "AND kind = 'command_rejected' AND (startsWith(message, {colon:String}) "
        "OR startsWith(message, {paren:String})) ORDER BY ts LIMIT 1",
        parameters={
            "run": run_id,
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
