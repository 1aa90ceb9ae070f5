"""Reading and writing the few rows that are not flow output: configs and backtest runs.

Every query binds its values as parameters; nothing from a caller is formatted into SQL.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from clickhouse_connect.driver.client import Client
from pydantic import BaseModel

from schemas.config import AlgorithmConfig, BacktestRun
from schemas.tables import column_names, from_row, table_of, to_columns

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
    names = column_names(model)
    columns = ", ".join(f"`{name}`" for name in names)
    result = client.query(
        f"SELECT {columns} FROM {table_of(model)} FINAL WHERE {where}", parameters=parameters or {}
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
