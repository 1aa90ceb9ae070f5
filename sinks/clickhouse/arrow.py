"""Rows as Arrow tables of each table's exact ClickHouse column types."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from schemas.tables import TABLE_MODELS, ColumnData, Rows, columns, table_of


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


SCHEMAS: dict[str, pa.Schema] = {
    table_of(model): pa.schema([(name, _arrow_type(kind)) for name, kind in columns(model)])
    for model in TABLE_MODELS
}


# Nullable unsigned columns of each table: a hot row builder gives them as signed numpy ints,
# a negative value for NULL (e.g. a tick's size, NO_SIZE when it quoted none), so a batch never
# goes through Python objects to say "no value".
NULLABLE_UNSIGNED: dict[str, frozenset[str]] = {
    table_of(model): frozenset(
        name for name, kind in columns(model) if kind.startswith("Nullable(UInt")
    )
    for model in TABLE_MODELS
}


def _column_array(column: ColumnData, kind: pa.DataType, nullable_unsigned: bool) -> pa.Array:
    if (
        nullable_unsigned
        and isinstance(column, np.ndarray)
        and np.issubdtype(column.dtype, np.signedinteger)
    ):
        missing = column < 0
        return pa.array(np.where(missing, 0, column), mask=missing, type=kind)
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
    schema = SCHEMAS[rows.table]
    nullable = NULLABLE_UNSIGNED[rows.table]
    arrays = [
        _column_array(rows.data[field.name], field.type, field.name in nullable) for field in schema
    ]
    return pa.Table.from_arrays(arrays, names=schema.names)
