"""Reading and writing the few rows that are not flow output: configs and backtest runs.

Every query binds its values as parameters; nothing from a caller is formatted into SQL.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from clickhouse_connect.driver.client import Client
from pydantic import BaseModel

from schemas.config import AlgorithmConfig, BacktestRun
from schemas.tables import column_names, from_row, table_of, to_columns
from schemas.trading import TradingState

M = TypeVar("M", bound=BaseModel)


def insert(client: Client, records: list[BaseModel]) -> None:
    if not records:
        return
    model = type(records[0])
    client.insert(
        table_of(model),
        to_columns(records),
        column_names=list(column_names(model)),
        column_oriented=True,
    )


def select(
    client: Client,
    model: type[M],
    where: str = "1",
    parameters: dict[str, Any] | None = None,
) -> list[M]:
    """Rows of `model`'s table (FINAL: replayed writes collapsed) matching `where`, whose
    values must come as `{name:Type}` placeholders bound from `parameters`."""
    return _rows(client, model, f"WHERE {where}", parameters or {})


def _rows(client: Client, model: type[M], clauses: str, parameters: dict[str, Any]) -> list[M]:
    names = column_names(model)
    columns = ", ".join(f"`{name}`" for name in names)
    result = client.query(
        f"SELECT {columns} FROM {table_of(model)} FINAL {clauses}", parameters=parameters
    )
    return [
        cast(M, from_row(model, dict(zip(names, row, strict=True)))) for row in result.result_rows
    ]


def latest_configs(client: Client, include_disabled: bool = False) -> list[AlgorithmConfig]:
    """The newest version of every account's algorithm config."""
    configs = select(client, AlgorithmConfig)
    newest: dict[str, AlgorithmConfig] = {}
    for config in configs:
        known = newest.get(config.account_id)
        if known is None or config.version > known.version:
            newest[config.account_id] = config
    return [
        newest[account] for account in sorted(newest) if include_disabled or newest[account].enabled
    ]


def config_versions(client: Client, account_id: str) -> list[AlgorithmConfig]:
    rows = select(client, AlgorithmConfig, "account_id = {account:String}", {"account": account_id})
    return sorted(rows, key=lambda c: c.version)


def backtest_run(client: Client, run_id: str) -> BacktestRun | None:
    rows = select(client, BacktestRun, "run_id = {run:String}", {"run": run_id})
    return rows[0] if rows else None


def select_ordered(
    client: Client,
    model: type[M],
    where: str,
    parameters: dict[str, Any],
    order_by: str,
    limit: int,
) -> list[M]:
    """Like `select`, sorted by `order_by` (code-chosen columns, never caller input) and cut
    at `limit` rows (bound as a parameter)."""
    clauses = f"WHERE {where} ORDER BY {order_by} LIMIT {{_limit:UInt32}}"
    return _rows(client, model, clauses, {**parameters, "_limit": limit})


def trading_states(
    client: Client, run_id: str, account_id: str | None = None
) -> list[TradingState]:
    """The current applied trading state of each account of a run (the highest `version`)."""
    where = "run_id = {run:String}"
    parameters: dict[str, Any] = {"run": run_id}
    if account_id is not None:
        where += " AND account_id = {account:String}"
        parameters["account"] = account_id
    return select_ordered(client, TradingState, where, parameters, "account_id", 10_000)


def backtest_runs(client: Client, status: str | None, limit: int) -> list[BacktestRun]:
    """Backtest runs, newest first, optionally of one status."""
    where, parameters = "1", {}
    if status is not None:
        where, parameters = "status = {status:String}", {"status": status}
    return select_ordered(client, BacktestRun, where, parameters, "created_ts DESC, run_id", limit)
