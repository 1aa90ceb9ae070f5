"""A run's fingerprint: SHA-256 over every output row it wrote, in a canonical order.

Two runs with equal fingerprints wrote the same rows, value for value: a replay on another
machine, with more workers, or after a crash and resume, can be checked with one string.

Canonical form. For each fact table with a `run_id` (in the fixed order of
`schemas.tables.TABLE_MODELS`; `backtest_runs`, the run's own bookkeeping, is left out), the
model's columns only, so server-filled wall-clock columns (`ingested_at`) never enter it. Rows
are read FINAL (replayed writes collapsed), sorted by all those columns, and each is rendered
by ClickHouse as one TabSeparated line (`formatRow`): floats in their shortest round-trip
decimal form, times in UTC, strings escaped, so the text is a function of the values alone.
The digest is SHA-256 over, per table, `table name NUL row count NUL` and then its lines.

Why in Python over streamed blocks, not `SHA256(arrayStringConcat(groupArray(...)))` in
ClickHouse: groupArray keeps no order under parallel reads unless forced, and would hold a
table's whole text in one string; streaming the ordered lines keeps memory flat. (ClickHouse's
`groupBitXor(cityHash64(...))` would be order-free but is not SHA-256, and XOR cancels
duplicated rows.)
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from schemas.tables import TABLE_MODELS, column_names, table_of

_LEFT_OUT = frozenset({"backtest_runs"})


def fingerprinted_tables() -> list[tuple[str, tuple[str, ...]]]:
    """(table, columns) of every table a run's fingerprint covers, in digest order."""
    found = []
    for model in TABLE_MODELS:
        names = column_names(model)
        if "run_id" in names and table_of(model) not in _LEFT_OUT:
            found.append((table_of(model), names))
    return found


def run_fingerprint(
    client: Client, run_id: str, day: date | None = None, timezone: str = "UTC"
) -> str:
    """Hex SHA-256 of run `run_id`'s output rows; with `day`, only rows whose event time falls
    on that date in `timezone` (one live trading day)."""
    return fingerprint_and_rows(client, run_id, day, timezone)[0]


def fingerprint_and_rows(
    client: Client, run_id: str, day: date | None = None, timezone: str = "UTC"
) -> tuple[str, int]:
    """`run_fingerprint`, and how many rows it covers (0: no such run, or day)."""
    digest = hashlib.sha256()
    total = 0
    where = "run_id = {run:String}"
    parameters: dict[str, Any] = {"run": run_id}
    if day is not None:
        where += " AND toDate(ts, {tz:String}) = {day:Date}"
        parameters.update(tz=timezone, day=day)
    for table, names in fingerprinted_tables():
        columns = ", ".join(f"`{name}`" for name in names)
        count = client.query(
            f"SELECT count() FROM {table} FINAL WHERE {where}", parameters=parameters
        ).result_rows[0][0]
        digest.update(f"{table}\0{count}\0".encode())
        total += count
        if count == 0:
            continue
        query = (
            f"SELECT formatRow('TabSeparated', {columns}) FROM {table} FINAL "
            f"WHERE {where} ORDER BY {columns}"
        )
        # One thread keeps the ORDER BY's order through the stream on every server.
        with client.query_arrow_stream(
            query, parameters=parameters, settings={"max_threads": 1}
        ) as stream:
            for batch in stream:
                digest.update(_lines_end_to_end(batch.column(0)))
    return digest.hexdigest(), total


def _lines_end_to_end(lines: pa.Array) -> bytes | memoryview:
    """A column of text lines as one run of bytes, which hashes as the lines fed one by one
    would: the Arrow data buffer between the first line's start and the last one's end (a
    Python string per line cost more than the hashing)."""
    if not len(lines):
        return b""
    wide = pa.types.is_large_string(lines.type) or pa.types.is_large_binary(lines.type)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if wide else np.int32)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[int(start) : int(end)]
