"""Trading states in `auto_trade_state`: what the flow applied to each account, versioned."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.trading import TradingState
from sinks.store.filters import RunFilter
from sinks.store.rows import select_ordered

MAX_ACCOUNTS = 10_000


def trading_states(
    client: Client, run_id: str, account_id: str | None = None
) -> list[TradingState]:
    """The current applied trading state of each account of a run (the highest `version`),
    by account id."""
    where = RunFilter(run_id, account_id).where()
    return select_ordered(
        client, TradingState, where.sql, where.parameters, "account_id", MAX_ACCOUNTS
    )
