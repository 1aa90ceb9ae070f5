"""Reading recorded ticks or bars from CSV or Parquet.

Columns (names are case-insensitive):
- `timestamp` (or `ts`, `time`, `datetime`, `date`): epoch milliseconds, or ISO-8601 / a
  timestamp column; times without a zone are refused, because guessing the zone of recorded
  market data silently shifts every session.
- `symbol`: the ticker. Optional if the whole file is one symbol and `symbol=` is given.
- `close` or `last`: the traded price.
- optional `bid`, `ask` (a zero-width quote at the price is used without them), `volume`, and
  `open`/`high`/`low` (read and ignored: a bar is replayed as one tick at its close).
Rows are replayed in time order; rows whose values break the Tick contract are reported with
their row number instead of being replayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from flows.trading.ticks import Int64s, TickColumns
from schemas.common import MAX_TS_MS, MIN_TS_MS, SYMBOL_PATTERN
from schemas.trading import DeadLetter

TIME_NAMES = ("timestamp", "ts", "time", "datetime", "date")
PRICE_NAMES = ("last", "close")


class TickFileError(ValueError):
    pass


@dataclass(slots=True)
class FileTicks(TickColumns):
    """Valid rows of a file in time order; `rejected` holds (row number, reason) of the others."""

    rows: Int64s  # the row number in the file (0-based, header excluded): the row's identity
    rejected: list[tuple[int, str]]

    def chunks(self, size: int) -> Iterator[slice]:
        for start in range(0, len(self), size):
            yield slice(start, min(start + size, len(self)))


def _read_table(path: Path) -> pa.Table:
    if not path.exists():
        raise TickFileError(f"{path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pq.read_table(path)
        if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
            return pa_csv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TickFileError(f"cannot read {path}: {exc}") from exc
    raise TickFileError(f"{path}: expected a .csv or .parquet file")


def _column(table: pa.Table, names: tuple[str, ...], required: bool) -> pa.ChunkedArray | None:
    lower = {name.lower(): name for name in table.column_names}
    for name in names:
        if name in lower:
            return table.column(lower[name])
    if required:
        raise TickFileError(f"no {' or '.join(names)} column; the file has {table.column_names}")
    return None


def _epoch_ms(column: pa.ChunkedArray) -> np.ndarray:
    kind = column.type
    if pa.types.is_integer(kind):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise TickFileError("the timestamp column has no time zone; give UTC times")
        return np.asarray(pc.cast(column, pa.timestamp("ms", tz="UTC")).cast(pa.int64()))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        zoned = pc.match_substring_regex(column, r"(Z|[+-]\d\d:?\d\d)$")
        if not pc.all(zoned).as_py():
            raise TickFileError("timestamps need a zone (e.g. 2026-11-23T14:30:00Z or +00:00)")
        try:
            parsed = pc.cast(column, pa.timestamp("ms", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TickFileError(f"cannot parse timestamps: {exc}") from exc
        return np.asarray(parsed.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    raise TickFileError(f"timestamps of type {kind} are not supported")


def _floats(column: pa.ChunkedArray | None, fallback: np.ndarray) -> np.ndarray:
    if column is None:
        return fallback
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def read_ticks(path: Path, symbol: str | None = None) -> FileTicks:
    """Read and check a tick or bar file (see the module docstring for its columns)."""
    import re

    table = _read_table(path)
    time_column = _column(table, TIME_NAMES, required=True)
    assert time_column is not None
    ts = _epoch_ms(time_column)
    last = _floats(_column(table, PRICE_NAMES, required=True), np.empty(0))
    bid = _floats(_column(table, ("bid",), required=False), last)
    ask = _floats(_column(table, ("ask",), required=False), last)
    volume_column = _column(table, ("volume",), required=False)
    volume = (
        np.zeros(len(ts), dtype=np.int64)
        if volume_column is None
        else np.nan_to_num(_floats(volume_column, np.empty(0)), nan=-1).astype(np.int64)
    )
    symbol_column = _column(table, ("symbol", "ticker"), required=symbol is None)
    if symbol_column is None:
        names = np.full(len(ts), symbol, dtype=object)
    else:
        names = np.asarray(symbol_column.to_pylist(), dtype=object)
    unique, codes = np.unique(names.astype(str), return_inverse=True)

    pattern = re.compile(SYMBOL_PATTERN)
    good_symbol = np.array([pattern.match(s) is not None for s in unique], dtype=bool)[codes]
    with np.errstate(invalid="ignore"):
        checks = [
            ((ts >= MIN_TS_MS) & (ts <= MAX_TS_MS), "timestamp out of range"),
            (good_symbol, "symbol does not match the pattern"),
            (np.isfinite(last) & (last > 0), "price is not a positive finite number"),
            (np.isfinite(bid) & (bid > 0) & np.isfinite(ask) & (ask > 0), "bid/ask not positive"),
            (bid <= ask, "bid is above ask (a crossed quote)"),
            (volume >= 0, "volume is negative or missing"),
        ]
    ok = np.ones(len(ts), dtype=bool)
    rejected: list[tuple[int, str]] = []
    for passed, reason in checks:
        failing = np.flatnonzero(ok & ~passed)
        rejected.extend((int(row), reason) for row in failing)
        ok &= passed
    rows = np.flatnonzero(ok)
    order = rows[np.lexsort((rows, ts[rows]))]
    return FileTicks(
        ts=ts[order],
        codes=codes[order].astype(np.int32),
        symbols=tuple(str(s) for s in unique),
        bid=bid[order],
        ask=ask[order],
        last=last[order],
        volume=volume[order],
        rows=order.astype(np.int64),
        rejected=sorted(rejected),
    )


def rejected_rows(source: str, ticks: FileTicks, fallback_ts: int) -> list[DeadLetter]:
    """Dead letters for the rows of a file that could not be replayed."""
    return [
        DeadLetter.of(f"file:{source}", 0, row, fallback_ts, None, f"row {row}".encode(), reason)
        for row, reason in ticks.rejected
    ]
