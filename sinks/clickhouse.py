"""The ClickHouse sink: batched column-oriented inserts, retried with backoff, never duplicated.

Rows carry deterministic ids that are part of each table's sorting key, and every table is a
ReplacingMergeTree, so a batch written twice (a retry, or Bytewax replaying the epoch after a
crash) collapses to one copy. Batching by rows and time happens upstream (`op.collect` in the
flow), so a batch handed to this sink is written at once and nothing waits in memory here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError
from pydantic import BaseModel

from schemas.db import connect
from schemas.tables import TABLE_MODELS, column_names, columns, table_of, to_columns

log = logging.getLogger(__name__)

Column = np.ndarray | list[Any]


@dataclass(slots=True)
class Rows:
    """Rows for one table, column by column (numpy arrays or lists), in the model's order."""

    table: str
    data: dict[str, Column]

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    @classmethod
    def of(cls, records: Sequence[BaseModel]) -> Rows:
        model = type(records[0])
        data: dict[str, Column] = dict(zip(column_names(model), to_columns(records), strict=True))
        return cls(table_of(model), data)


def concat(batches: Sequence[Rows]) -> Rows:
    """One Rows for many of the same table; DateTime64 columns become lists of epoch-ms ints."""
    first = batches[0]
    merged: dict[str, Column] = {}
    for name in first.data:
        parts = [batch.data[name] for batch in batches]
        if all(isinstance(part, np.ndarray) for part in parts):
            merged[name] = np.concatenate(parts)
        else:
            merged[name] = [value for part in parts for value in part]
    return Rows(first.table, merged)


def _arrow_type(kind: str) -> pa.DataType:
    """The Arrow type clickhouse-connect sends for a ClickHouse column type."""
    if kind.startswith("Nullable("):
        return _arrow_type(kind[len("Nullable(") : -1])
    if kind.startswith("LowCardinality("):
        return pa.dictionary(pa.int32(), _arrow_type(kind[len("LowCardinality(") : -1]))
    if kind.startswith("DateTime64"):
        return pa.timestamp("ms", tz="UTC")
    if kind.startswith("Array("):
        inner = _arrow_type(kind[len("Array(") : -1])
        return pa.list_(inner.value_type if pa.types.is_dictionary(inner) else inner)
    if kind.startswith("Map("):
        key, value = (part.strip() for part in kind[len("Map(") : -1].split(",", 1))
        return pa.map_(_arrow_type(key), _arrow_type(value))
    return {
        "String": pa.string(),
        "Float64": pa.float64(),
        "Int64": pa.int64(),
        "UInt64": pa.uint64(),
        "UInt32": pa.uint32(),
        "Bool": pa.bool_(),
        "Date": pa.date32(),
    }[kind]


_SCHEMAS: dict[str, pa.Schema] = {
    table_of(model): pa.schema([(name, _arrow_type(kind)) for name, kind in columns(model)])
    for model in TABLE_MODELS
}


def _column_array(column: Column, kind: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(kind):
        return pa.array(column, type=kind.value_type).dictionary_encode()
    if pa.types.is_timestamp(kind) and isinstance(column, np.ndarray):
        return pa.array(column.astype(np.int64), type=pa.int64()).cast(kind)
    if pa.types.is_map(kind):
        return pa.array([list(m.items()) for m in column], type=kind)
    return pa.array(column, type=kind)


def to_arrow(rows: Rows) -> pa.Table:
    """Rows as an Arrow table of the table's exact column types (the fast insert path:
    Arrow encodes LowCardinality dictionaries in C++, not per value in Python)."""
    schema = _SCHEMAS[rows.table]
    arrays = [_column_array(rows.data[field.name], field.type) for field in schema]
    return pa.Table.from_arrays(arrays, names=schema.names)


class Writer:
    """Inserts Rows into one database, retrying transient failures with exponential backoff."""

    def __init__(
        self,
        connect_client: Callable[[], Client],
        attempts: int = 8,
        first_delay: float = 0.2,
        max_delay: float = 10.0,
    ):
        self._connect = connect_client
        self._client: Client | None = None
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay

    def write(self, batches: Sequence[Rows]) -> int:
        by_table: dict[str, list[Rows]] = {}
        for batch in batches:
            if len(batch):
                by_table.setdefault(batch.table, []).append(batch)
        written = 0
        for _, parts in sorted(by_table.items()):
            rows = concat(parts)
            self._insert(rows)
            written += len(rows)
        return written

    def _insert(self, rows: Rows) -> None:
        table = to_arrow(rows)
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                if self._client is None:
                    self._client = self._connect()
                self._client.insert_arrow(rows.table, table)
                return
            except (OperationalError, ClickHouseError, OSError) as error:
                if attempt == self.attempts or not _transient(error):
                    raise
                log.warning(
                    "insert into %s failed (%s); retrying in %.1fs", rows.table, error, delay
                )
                self.close()
                time.sleep(delay)
                delay = min(delay * 2, self.max_delay)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _transient(error: Exception) -> bool:
    """Network trouble and overloaded servers pass; a bad schema or bad data does not."""
    if isinstance(error, OperationalError | OSError):
        return True
    text = str(error)
    return any(
        marker in text
        for marker in ("TOO_MANY_", "TIMEOUT", "NETWORK_ERROR", "MEMORY_LIMIT", "Code: 202")
    )


class _Partition(StatelessSinkPartition[list[Rows]]):
    def __init__(self, writer: Writer):
        self._writer = writer

    def write_batch(self, items: list[list[Rows]]) -> None:
        self._writer.write([rows for collected in items for rows in collected])

    def close(self) -> None:
        self._writer.close()


class ClickHouseSink(DynamicSink[list[Rows]]):
    """Writes lists of Rows (as `op.collect` gathers them) to ClickHouse."""

    def __init__(self, dsn: str, database: str):
        self.dsn = dsn
        self.database = database

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        return _Partition(Writer(lambda: connect(self.dsn, self.database)))
