"""The ClickHouse sink: batched column-oriented inserts, retried with backoff, never duplicated.

Rows carry deterministic ids that are part of each table's sorting key, and every table is a
ReplacingMergeTree, so a batch written twice (a retry, or Bytewax replaying the epoch after a
crash) collapses to one copy. Batching by rows and time happens upstream (`op.collect` in the
flow), so a batch handed to this sink is written at once and nothing waits in memory here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition
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


class _Partition(StatefulSinkPartition[list[Rows], None]):
    """Inserts on a thread of its own, so the worker goes on while ClickHouse writes.

    A failed insert is raised on the worker at its next batch or at the epoch's end; at the end
    of every epoch the partition waits until everything handed to it is written, which is what
    makes Bytewax's recovery snapshot a promise that those rows are stored.
    """

    def __init__(self, writer: Writer, name: str):
        self._writer = writer
        self._queue: queue.Queue[list[Rows] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                if self._error is None:
                    self._writer.write(batch)
            except BaseException as error:  # handed to the worker thread, which raises it
                self._error = error
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise RuntimeError("writing to ClickHouse failed") from self._error

    def write_batch(self, items: list[list[Rows]]) -> None:
        self._raise_failure()
        self._queue.put([rows for collected in items for rows in collected])

    def snapshot(self) -> None:
        self._queue.join()
        self._raise_failure()

    def close(self) -> None:
        self._queue.join()
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        self._raise_failure()


class ClickHouseSink(FixedPartitionedSink[list[Rows], None]):
    """Writes lists of Rows (as `op.collect` gathers them, keyed by table) to ClickHouse, one
    partition per table, each spread to some worker."""

    def __init__(self, dsn: str, database: str):
        self.dsn = dsn
        self.database = database

    def list_parts(self) -> list[str]:
        return sorted(_SCHEMAS)

    def part_fn(self, item_key: str) -> int:
        return self.list_parts().index(item_key)

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Partition:
        writer = Writer(lambda: connect(self.dsn, self.database))
        return _Partition(writer, name=f"clickhouse-{for_part}")
