"""The account stage's fast rows are the rows validation would give, bit for bit.

Position snapshots and daily rows are made as tuples (`trusted_row`, no model per row) and every
model is read into columns with one attribute getter (`to_row`, `to_columns`). Tables must hold
the same bytes as when each row was a validated model, so these tests compare the fast paths
with the validated path (and with the per-field conversion that `to_row` used to be) on random
values, by `repr`: exact, and -0.0 is told from 0.0.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from flows.trading.portfolio import new_book
from flows.trading.snapshots import PositionGreeks, positions, snapshot_rows
from schemas import tables
from schemas.common import MAX_TS_MS, Severity, Side, TradingStatus
from schemas.tables import (
    TableRows,
    column_names,
    from_own_row,
    from_row,
    to_columns,
    to_row,
    trusted,
    trusted_row,
)
from schemas.trading import Alert, DailyPerformance, PositionSnapshot, TradingState
from tests.flows.trading.books import CALL, CONTRACTS, TS, fill
from tests.schemas.test_schema_tables import SAMPLES


def reference_row(record: BaseModel) -> tuple[Any, ...]:
    """`to_row` as it was: field by field, any enum to its value, nested values to JSON."""
    model = type(record)
    json_fields = tables._json_fields(model)
    row: list[Any] = []
    for name in column_names(model):
        value = getattr(record, name)
        if name in json_fields:
            value = tables._adapter(model, name).dump_json(value).decode()
        elif isinstance(value, Enum):
            value = value.value
        row.append(value)
    return tuple(row)


identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,40}", fullmatch=True)
account_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,30}", fullmatch=True)
symbols = st.from_regex(r"[A-Z][A-Z0-9.\-]{0,14}", fullmatch=True)
event_times = st.integers(0, MAX_TS_MS)
finite = st.floats(-1e12, 1e12, allow_nan=False)
prices = st.floats(0, 1e6, allow_nan=False)
fractions = st.floats(0, 1, allow_nan=False)
counts = st.integers(0, 2**32 - 1)


def numpy_or_not(values: st.SearchStrategy[Any], kind: type) -> st.SearchStrategy[Any]:
    """The value as Python gives it, or as the numpy scalar that array code hands on."""
    return st.one_of(values, values.map(kind))


snapshot_values = st.fixed_dictionaries(
    {
        "row_id": identifiers,
        "run_id": account_ids,
        "account_id": account_ids,
        "ts": numpy_or_not(event_times, np.int64),
        "instrument": st.one_of(st.just(""), symbols),
        "underlying": st.one_of(st.just(""), symbols),
        "quantity": numpy_or_not(st.integers(-(10**7), 10**7), np.int64),
        "avg_price": numpy_or_not(prices, np.float64),
        "mark_price": numpy_or_not(prices, np.float64),
        "market_value": numpy_or_not(finite, np.float64),
        "unrealised_pnl": finite,
        "realised_pnl": finite,
        "delta": numpy_or_not(finite, np.float64),
        "gamma": finite,
        "vega": finite,
        "theta": finite,
        "cash": finite,
        "equity": numpy_or_not(finite, np.float64),
    },
    optional={"scenario_loss": finite},
)

daily_values = st.fixed_dictionaries(
    {
        "row_id": identifiers,
        "run_id": account_ids,
        "account_id": account_ids,
        "day": st.dates(date(1971, 1, 1), date(2099, 12, 31)),
        "ts": event_times,
        "start_equity": finite,
        "end_equity": finite,
        "pnl": finite,
        "return_pct": numpy_or_not(finite, np.float64),
        "realised_pnl": finite,
        "commissions": finite,
        "trades": counts,
        "winning_trades": counts,
        "losing_trades": counts,
        "win_rate": fractions,
        "max_drawdown": numpy_or_not(fractions, np.float64),
        "high_water_mark": finite,
    }
)

state_values = st.fixed_dictionaries(
    {
        "run_id": account_ids,
        "account_id": account_ids,
        "ts": event_times,
        "status": st.one_of(
            st.sampled_from(TradingStatus), st.sampled_from(TradingStatus).map(str)
        ),
        "reason": st.text(max_size=50),
        "command_id": st.text(max_size=20),
        "config_version": counts,
        "version": st.integers(0, 2**63 - 1),
        "equity": finite,
        "cash": finite,
        "open_positions": counts,
    }
)

alert_values = st.fixed_dictionaries(
    {
        "alert_id": identifiers,
        "run_id": account_ids,
        "account_id": account_ids,
        "ts": event_times,
        "severity": st.sampled_from(Severity),
        "kind": st.from_regex(r"[a-z_]{1,40}", fullmatch=True),
        "message": st.text(max_size=50),
    },
    optional={"value": finite, "threshold": finite},
)


def assert_fast_equals_validated(model: type[BaseModel], values: dict[str, Any]) -> None:
    validated = model.model_validate(values)
    expected = repr(reference_row(validated))
    assert repr(to_row(validated)) == expected
    assert repr(trusted_row(model, values)) == expected
    made = trusted(model, **values)
    assert repr(to_row(made)) == expected
    # The same object: equal fields, the same JSON on a topic, the same fields set.
    assert made == validated
    assert made.model_dump_json() == validated.model_dump_json()
    assert made.model_fields_set == validated.model_fields_set
    assert repr(to_columns([validated, validated])) == repr(
        [[value, value] for value in reference_row(validated)]
    )


@settings(max_examples=300, deadline=None)
@given(snapshot_values)
def test_a_fast_snapshot_row_equals_the_validated_one(values: dict[str, Any]) -> None:
    assert_fast_equals_validated(PositionSnapshot, values)


@settings(max_examples=300, deadline=None)
@given(daily_values)
def test_a_fast_daily_row_equals_the_validated_one(values: dict[str, Any]) -> None:
    assert_fast_equals_validated(DailyPerformance, values)


@settings(max_examples=200, deadline=None)
@given(state_values)
def test_a_fast_state_row_equals_the_validated_one(values: dict[str, Any]) -> None:
    assert_fast_equals_validated(TradingState, values)


@settings(max_examples=200, deadline=None)
@given(alert_values)
def test_a_fast_alert_row_equals_the_validated_one(values: dict[str, Any]) -> None:
    assert_fast_equals_validated(Alert, values)


def test_every_table_model_reads_into_the_same_columns_as_field_by_field() -> None:
    """Nested models, lists, maps, optional and enum fields of every table's sample rows; and
    `trusted` of the fields a sample was given (the rest from defaults) is that sample."""
    for model, records in SAMPLES.items():
        expected = [list(column) for column in zip(*map(reference_row, records), strict=True)]
        assert repr(to_columns(records)) == repr(expected), model.__name__
        for record in records:
            assert repr(to_row(record)) == repr(reference_row(record)), model.__name__
            given = {name: getattr(record, name) for name in record.model_fields_set}
            made = trusted(model, **given)
            assert made == record, model.__name__
            assert made.model_dump_json() == record.model_dump_json(), model.__name__
            assert repr(trusted_row(model, given)) == repr(reference_row(record)), model.__name__


def test_every_table_models_stored_row_reads_back_as_the_validated_model() -> None:
    """`from_own_row` (no validation, for reading back rows the flow wrote) gives what
    `from_row` gives, for the stored form of every table's sample rows: JSON text parsed,
    enums from their values, event times from epoch ms or from the datetimes a query returns."""
    for model, records in SAMPLES.items():
        names = column_names(model)
        for record in records:
            stored = dict(zip(names, to_row(record), strict=True))
            as_read = {name: _as_queried(model, name, value) for name, value in stored.items()}
            for row in (stored, as_read):
                made, validated = from_own_row(model, row), from_row(model, row)
                assert made == validated == record, model.__name__
                assert made.model_dump_json() == validated.model_dump_json(), model.__name__
                assert made.model_fields_set == validated.model_fields_set, model.__name__
                assert repr(to_row(made)) == repr(to_row(record)), model.__name__


def _as_queried(model: type[BaseModel], name: str, value: Any) -> Any:
    """A stored value as clickhouse-connect returns it: DateTime64 columns as UTC datetimes."""
    kind = dict(tables.columns(model))[name]
    if "DateTime64" in kind and isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return value


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 500), st.floats(1.0, 300.0)), min_size=1, max_size=6),
    st.floats(1.0, 300.0),
    st.floats(0.05, 30.0),
    st.floats(-500.0, 500.0),
)
def test_snapshot_rows_equal_validated_rows_of_the_marked_positions(
    trades: list[tuple[int, float]], share_mark: float, call_mark: float, delta: float
) -> None:
    """The tuples `snapshot_rows` makes hold what validated `PositionSnapshot`s of the
    validated `positions` hold (the way they were made before)."""
    book = new_book(1_000_000.0)
    for quantity, price in trades:
        fill(book, CONTRACTS[0], Side.BUY, quantity, price, commission_cents=100)
    fill(book, CONTRACTS[2], Side.SELL, 2, 4.0, commission_cents=130)
    marks = {"AAPL": share_mark, CALL: call_mark}
    greeks = {CALL: PositionGreeks(delta=delta, gamma=-3.0, vega=-40.0, theta=90.0)}
    rows = snapshot_rows(
        book, run_id="live", account_id="acct-1", ts=TS, marks=marks, greeks=greeks
    )
    assert isinstance(rows, TableRows)
    made = list(positions(book, "acct-1", marks))
    for position, row in zip(made, rows.rows[:-1], strict=True):
        validated = PositionSnapshot.model_validate(
            {
                **position.model_dump(exclude={"asset_class", "multiplier"}),
                "row_id": f"acct-1:{TS}:{position.instrument}",
                "run_id": "live",
                "ts": TS,
                "delta": greeks.get(position.instrument, PositionGreeks()).delta,
                "gamma": greeks.get(position.instrument, PositionGreeks()).gamma,
                "vega": greeks.get(position.instrument, PositionGreeks()).vega,
                "theta": greeks.get(position.instrument, PositionGreeks()).theta,
                "cash": row[column_names(PositionSnapshot).index("cash")],
                "equity": row[column_names(PositionSnapshot).index("equity")],
            }
        )
        assert repr(row) == repr(to_row(validated))
