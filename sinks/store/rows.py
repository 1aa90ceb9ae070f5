"""A model's rows in its table: insert them, and read them back as models.

Every query binds its values as parameters; nothing from a caller is formatted into SQL. The
`where` and `order_by` texts come from the store's own code (see `sinks.store.filters`).
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from clickhouse_connect.driver.client import Client
from pydantic import BaseModel

from schemas.tables import column_names, from_own_row, from_row, table_of, to_columns
from schemas.tables import columns as table_columns

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


def select_own(
    client: Client,
    model: type[M],
    where: str = "1",
    parameters: dict[str, Any] | None = None,
) -> list[M]:
    """Like `select`, the rows built without validation (`schemas.tables.from_own_row`): for
    reading back by the thousand rows that the flow wrote itself."""
    return _rows(client, model, f"WHERE {where}", parameters or {}, validate=False)


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


def _selected(name: str, kind: str, validate: bool) -> str:
    """A column as selected: times as epoch ms when the rows are built without validation
    (converting a datetime per row would cost as much as the rest of the row), under an alias
    of their own, so a `where` on the column still reads the column."""
    if not validate and "DateTime64" in kind:
        return f"toUnixTimestamp64Milli(`{name}`) AS `_ms_{name}`"
    return f"`{name}`"


def _rows(
    client: Client,
    model: type[M],
    clauses: str,
    parameters: dict[str, Any],
    validate: bool = True,
) -> list[M]:
    names = column_names(model)
    columns = ", ".join(_selected(name, kind, validate) for name, kind in table_columns(model))
    result = client.query(
        f"SELECT {columns} FROM {table_of(model)} FINAL {clauses}", parameters=parameters
    )
    rows = (dict(zip(names, row, strict=True)) for row in result.result_rows)
    if not validate:
        return [from_own_row(model, row) for row in rows]
    return [cast(M, from_row(model, row)) for row in rows]
