"""The ClickHouse side of each table-backed model: column names, types and row conversion.

Columns derive from the pydantic models, so a model and its table cannot drift apart unnoticed:
tests/integration/test_schema_tables.py compares these derived types with `DESCRIBE TABLE`.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from functools import cache
from operator import attrgetter
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from schemas.columns import Column
from schemas.common import cents, datetime_to_ms, to_epoch_ms
from schemas.config import AlgorithmConfig, BacktestRun
from schemas.market import MarketTick, OptionGreeks
from schemas.trading import (
    Alert,
    DailyPerformance,
    Decision,
    Fill,
    OrderEvent,
    PositionSnapshot,
    Signal,
    TradingState,
)

TABLE_MODELS: tuple[type[BaseModel], ...] = (
    AlgorithmConfig,
    Signal,
    Decision,
    PositionSnapshot,
    DailyPerformance,
    BacktestRun,
    Alert,
    TradingState,
    MarketTick,
    OptionGreeks,
    Fill,
    OrderEvent,
)

# Tables partitioned by `toYear(ts)` (migration 0003): the sink splits an insert into these by
# year so no block spans more partitions than the server allows. The other tables are not
# partitioned. tests/schemas/test_schema_tables.py checks this against the database.
YEAR_PARTITIONED = frozenset(
    {
        "auto_signals",
        "auto_decisions",
        "paper_fills",
        "paper_orders",
        "position_snapshots",
        "alerts",
        "market_ticks",
        "option_greeks",
    }
)

M = TypeVar("M", bound=BaseModel)

# Columns a table has that its model does not: filled by ClickHouse defaults on insert.
SERVER_DEFAULT_COLUMNS = frozenset({"ingested_at"})


def table_of(model: type[BaseModel]) -> str:
    name: str = getattr(model, "table")  # noqa: B009 - a ClassVar, not a field
    return name


def model_for_table(table: str) -> type[BaseModel]:
    for model in TABLE_MODELS:
        if table_of(model) == table:
            return model
    raise KeyError(f"no model for table {table!r}")


def _is_event_time(metadata: Iterable[Any]) -> bool:
    return any(getattr(item, "func", None) is to_epoch_ms for item in metadata)


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any], bool]:
    """Strip Annotated and Optional: return (bare type, all metadata, nullable)."""
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata = [*metadata, *extra]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != len(get_args(annotation)) - 1 or len(members) != 1:
                return annotation, metadata, nullable  # a real union: stored as JSON text
            nullable = True
            annotation = members[0]
        else:
            return annotation, metadata, nullable


def _scalar_type(annotation: Any, metadata: list[Any]) -> str:
    for item in metadata:
        if isinstance(item, Column):
            return item.type
    if annotation is int and _is_event_time(metadata):
        return "DateTime64(3, 'UTC')"
    if annotation is bool:
        return "Bool"
    if annotation is int:
        return "Int64"
    if annotation is float:
        return "Float64"
    if annotation is date:
        return "Date"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "LowCardinality(String)"
    if annotation is str:
        return "String"
    origin = get_origin(annotation)
    if origin is dict:
        key, value = get_args(annotation)
        key_type = _scalar_type(*_unwrap(key, [])[:2])
        value_type = _scalar_type(*_unwrap(value, [])[:2])
        return f"Map({key_type}, {value_type})"
    if origin is list:
        (item,) = get_args(annotation)
        bare, item_meta, _ = _unwrap(item, [])
        if isinstance(bare, type) and issubclass(bare, BaseModel):
            return "String"
        return f"Array({_scalar_type(bare, item_meta)})"
    return "String"  # nested models and unions are stored as their JSON text


def column_type(field: FieldInfo) -> str:
    bare, metadata, nullable = _unwrap(field.annotation, list(field.metadata))
    base = _scalar_type(bare, metadata)
    return f"Nullable({base})" if nullable else base


@cache
def columns(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(name, ClickHouse type) of each column, in model field order."""
    return tuple((name, column_type(field)) for name, field in model.model_fields.items())


@cache
def column_names(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, _ in columns(model))


@cache
def _json_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name for name, kind in columns(model) if kind == "String" and not _is_text(model, name)
    )


def _is_text(model: type[BaseModel], name: str) -> bool:
    bare, _, _ = _unwrap(model.model_fields[name].annotation, [])
    return bare is str or (isinstance(bare, type) and issubclass(bare, Enum))


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    annotation = model.model_fields[name].annotation
    assert annotation is not None
    return TypeAdapter(annotation)


@dataclass(frozen=True, slots=True)
class _RowPlan:
    """How a model becomes a row: its values in column order by one attribute getter, then the
    few columns that need a conversion (enums to their value, nested values to JSON text)."""

    get: Callable[[Any], tuple[Any, ...]]
    enums: tuple[tuple[int, dict[Any, Any]], ...]  # (position, stored value by member)
    json: tuple[tuple[int, TypeAdapter[Any]], ...]


@cache
def _row_plan(model: type[BaseModel]) -> _RowPlan:
    names = column_names(model)
    json_fields = _json_fields(model)
    enums, json_columns = [], []
    for index, name in enumerate(names):
        bare, _, _ = _unwrap(model.model_fields[name].annotation, [])
        if name in json_fields:
            json_columns.append((index, _adapter(model, name)))
        elif isinstance(bare, type) and issubclass(bare, Enum):
            enums.append((index, {member: member.value for member in bare}))
    getter = attrgetter(*names)
    get = getter if len(names) > 1 else lambda record: (getter(record),)
    return _RowPlan(get, tuple(enums), tuple(json_columns))


def to_row(record: BaseModel) -> tuple[Any, ...]:
    """A model as a row in column order, ready for clickhouse-connect's insert."""
    plan = _row_plan(type(record))
    row = plan.get(record)
    if not plan.enums and not plan.json:
        return row
    values = list(row)
    for index, stored in plan.enums:
        values[index] = stored.get(values[index], values[index])
    for index, adapter in plan.json:
        values[index] = adapter.dump_json(values[index]).decode()
    return tuple(values)


def to_columns(records: Sequence[BaseModel]) -> list[list[Any]]:
    """Column-oriented data for many records of one model (the fast insert path): the values
    are read column-wise, and only the enum and JSON columns are converted value by value."""
    if not records:
        return []
    plan = _row_plan(type(records[0]))
    data = [list(column) for column in zip(*map(plan.get, records), strict=True)]
    # A member hashes as its value, so the lookup passes a value (or None) through as itself.
    for index, stored in plan.enums:
        data[index] = list(map(stored.get, data[index], data[index]))
    for index, adapter in plan.json:
        data[index] = [adapter.dump_json(value).decode() for value in data[index]]
    return data


def _selected_values(model: type[BaseModel], row: Mapping[str, Any]) -> dict[str, Any]:
    """A selected row's values as the model's fields take them: JSON text parsed, times in
    epoch ms."""
    json_fields = _json_fields(model)
    values: dict[str, Any] = {}
    for name, kind in columns(model):
        value = row[name]
        if name in json_fields and isinstance(value, str):
            value = json.loads(value)
        elif kind.startswith(("DateTime64", "Nullable(DateTime64")) and isinstance(value, datetime):
            value = datetime_to_ms(value)
        values[name] = value
    return values


def from_row(model: type[BaseModel], row: Mapping[str, Any]) -> BaseModel:
    """Rebuild a model from a selected row (the inverse of `to_row`)."""
    return model.model_validate(_selected_values(model, row))


@cache
def _time_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(
        name
        for name, kind in columns(model)
        if kind.startswith(("DateTime64", "Nullable(DateTime64"))
    )


def from_own_row(model: type[M], row: Mapping[str, Any]) -> M:
    """`from_row` without validation, for a row of the model's own table that our code wrote
    (the table's column types and the writer's validation already hold it): a run's fills,
    read back by the thousand for its results, cost a validation each otherwise. Nested
    values (JSON columns) alone are validated, into the models they hold; times come as epoch
    ms (selected so, see `sinks.store.rows`) or as the datetimes a plain select returns."""
    values = dict(row)
    for name in _time_fields(model):
        if isinstance(values[name], datetime):
            values[name] = datetime_to_ms(values[name])
    for name in _json_fields(model):
        value = values[name]
        if value is not None:
            parsed = json.loads(value) if isinstance(value, str) else value
            values[name] = _adapter(model, name).validate_python(parsed)
    return trusted(model, **values)


@cache
def _field_kinds(model: type[BaseModel]) -> tuple[tuple[str, str, Any], ...]:
    """(name, kind, enum class) per field: kind is money, enum, int, float or other."""
    kinds: list[tuple[str, str, Any]] = []
    for name, info in model.model_fields.items():
        bare, metadata, _ = _unwrap(info.annotation, list(info.metadata))
        if any(getattr(item, "func", None) is cents for item in metadata):
            kinds.append((name, "money", None))
        elif isinstance(bare, type) and issubclass(bare, Enum):
            kinds.append((name, "enum", bare))
        elif bare is int or bare is float:
            kinds.append((name, bare.__name__, None))
        else:
            kinds.append((name, "other", None))
    return tuple(kinds)


ColumnData = npt.NDArray[Any] | list[Any]  # numpy arrays for the hot tables


_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class _TrustedPlan:
    """A model's columns as (name, default) in order, and the positions of each conversion."""

    fields: tuple[tuple[str, Any], ...]
    money: tuple[int, ...]
    floats: tuple[int, ...]
    ints: tuple[int, ...]
    enums: tuple[tuple[int, type[Enum], dict[Any, Enum]], ...]  # (position, enum, member by value)
    json: tuple[tuple[int, TypeAdapter[Any]], ...]


@cache
def _trusted_plan(model: type[BaseModel]) -> _TrustedPlan:
    json_fields = _json_fields(model)
    fields: list[tuple[str, Any]] = []
    by_kind: dict[str, list[Any]] = {"money": [], "float": [], "int": [], "enum": [], "json": []}
    for index, (name, kind, enum) in enumerate(_field_kinds(model)):
        info = model.model_fields[name]
        default = _REQUIRED if info.is_required() else info.get_default(call_default_factory=True)
        fields.append((name, default))
        if name in json_fields:
            by_kind["json"].append((index, _adapter(model, name)))
        elif kind == "enum":
            by_kind["enum"].append((index, enum, {member.value: member for member in enum}))
        elif kind != "other":
            by_kind[kind].append(index)
    return _TrustedPlan(
        tuple(fields),
        tuple(by_kind["money"]),
        tuple(by_kind["float"]),
        tuple(by_kind["int"]),
        tuple(by_kind["enum"]),
        tuple(by_kind["json"]),
    )


def _converted(model: type[BaseModel], values: Mapping[str, Any], stored: bool) -> list[Any]:
    """The values in column order, defaults filled in, converted as validation would: money
    rounded to the cent, numpy scalars to Python's, enums to members. `stored`: enums as their
    values and nested values as JSON text, as a table row holds them.

    Conversions go column kind by column kind over the positions that need them: a snapshot
    row is made for every account at every interval, so this is the account stage's budget."""
    plan = _trusted_plan(model)
    row = [values.get(name, default) for name, default in plan.fields]
    if _REQUIRED in row:
        missing = [name for (name, _), v in zip(plan.fields, row, strict=True) if v is _REQUIRED]
        raise KeyError(f"{model.__name__} needs {', '.join(missing)}")
    for index in plan.money:
        if row[index] is not None:
            row[index] = round(float(row[index]), 2)  # `cents`, inline
    for index in plan.floats:
        if row[index] is not None:
            row[index] = float(row[index])
    for index in plan.ints:
        if row[index] is not None:
            row[index] = int(row[index])
    for index, enum, members in plan.enums:
        value = row[index]
        if value is not None:
            # A member hashes as its value, so one lookup takes either (an unknown one raises).
            member = members.get(value) if type(value) is not enum else value
            member = enum(value) if member is None else member
            row[index] = member.value if stored else member
    if stored:
        for index, adapter in plan.json:
            if row[index] is not None:
                row[index] = adapter.dump_json(row[index]).decode()
    return row


def trusted_row(model: type[BaseModel], values: Mapping[str, Any]) -> tuple[Any, ...]:
    """What `to_row(trusted(model, **values))` gives, without building the model: the row of
    values our own code made, in column order and stored form. A field left out takes its
    default."""
    return tuple(_converted(model, values, stored=True))


def trusted(model: type[M], **values: Any) -> M:
    """A row our own code made, built without validation: the same object validation would
    give (tests/schemas/test_fast_rows.py), for values whose types and ranges the code
    guarantees. Money is rounded to the cent, enums and numpy scalars become what validation
    makes of them, defaults fill what is left out.

    Built as `BaseModel.model_construct` builds it (its `__dict__` in field order, the fields
    given as set), without its per-field alias lookups, which cost as much as validating."""
    row = _converted(model, values, stored=False)
    if model.__pydantic_post_init__ or model.__private_attributes__:
        return model.model_construct(**dict(zip(column_names(model), row, strict=True)))
    record = model.__new__(model)
    object.__setattr__(record, "__dict__", dict(zip(column_names(model), row, strict=True)))
    object.__setattr__(record, "__pydantic_fields_set__", set(values))
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record


@dataclass(slots=True)
class TableRows:
    """Rows of one table that the account stage made, kept as tuples in column order
    (`trusted_row`) and turned into columns once per batch, across accounts: no model is built
    per row. Iterating rebuilds validated models (`from_row`), for tests and inspection."""

    model: type[BaseModel]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, **values: Any) -> None:
        self.rows.append(trusted_row(self.model, values))

    def extend(self, other: TableRows) -> None:
        if other.model is not self.model:
            raise TypeError(f"rows of {other.model.__name__} added to {self.model.__name__}")
        self.rows.extend(other.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[BaseModel]:
        names = column_names(self.model)
        return (from_row(self.model, dict(zip(names, row, strict=True))) for row in self.rows)

    def __getitem__(self, index: int) -> BaseModel:
        return from_row(
            self.model, dict(zip(column_names(self.model), self.rows[index], strict=True))
        )

    def columns(self) -> Rows:
        """The rows as one `Rows` of lists, column by column."""
        data: dict[str, ColumnData] = dict(
            zip(column_names(self.model), map(list, zip(*self.rows, strict=True)), strict=True)
        )
        return Rows(table_of(self.model), data)


@dataclass(slots=True)
class Rows:
    """Rows for one table, column by column (numpy arrays or lists), in the model's order."""

    table: str
    data: dict[str, ColumnData]

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def take(self, index: npt.NDArray[np.intp]) -> Rows:
        """The rows at `index` (positions), in that order."""
        picked = index.tolist()
        return Rows(
            self.table,
            {
                name: column[index]
                if isinstance(column, np.ndarray)
                else [column[i] for i in picked]
                for name, column in self.data.items()
            },
        )

    @classmethod
    def of(cls, records: Sequence[BaseModel]) -> Rows:
        model = type(records[0])
        data: dict[str, ColumnData] = dict(
            zip(column_names(model), to_columns(records), strict=True)
        )
        return cls(table_of(model), data)


def concat(batches: Sequence[Rows]) -> Rows:
    """One Rows for many of the same table; DateTime64 columns become lists of epoch-ms ints."""
    first = batches[0]
    merged: dict[str, ColumnData] = {}
    for name in first.data:
        parts = [batch.data[name] for batch in batches]
        if all(isinstance(part, np.ndarray) for part in parts):
            merged[name] = np.concatenate(parts)
        else:
            merged[name] = [value for part in parts for value in part]
    return Rows(first.table, merged)
