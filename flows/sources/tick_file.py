"""Reading recorded ticks or bars from CSV (gzip too) or Parquet, as vendors write them.

Columns (names are case-insensitive; Stooq's `<DATE>`-style names work too):
- the time, `timestamp` (or `ts`, `time`, `datetime`, `date`):
  - a date-time with a zone (ISO-8601 `Z`/`+hh:mm`, or a zoned Parquet timestamp): as given;
  - a date-time without a zone (`2024-01-02 15:30:00`): the exchange's local time;
  - a date only (`2024-01-02`, a date column, or Stooq's `20240102`): the session close of that
    day in the exchange's time zone (16:00 New York by default), when a daily bar's close
    trades;
  - a date and a time of day in two columns (`date` and `time`, as Stooq writes intraday bars:
    `20240102` and `153500`, or `2024-01-02` and `15:35:00`): the exchange's local time; a time
    column of only midnights (Stooq's daily files) keeps the session close;
  - integers otherwise: epoch milliseconds.
- `symbol` (or `ticker`): optional if the whole file is one symbol and `symbol=` is given.
- `close` or `last`: the traded price; with `adjusted`, `Adj Close` (Yahoo's split- and
  dividend-adjusted close) instead.
- optional `bid_size` and `ask_size` (or `BidSize`/`AskSize`, `bid_sz`/`ask_sz`), with `bid`
  and `ask`: the quoted sizes, both or neither per row (an empty pair: the row quoted none),
  whole numbers >= 0. With them a row is a quote: at most its size fills, and a locked quote
  (bid = ask) is not filled against (flows.trading.orders).
- optional `bid`, `ask` (a zero-width quote at the price is used without them), `volume`, and
  `open`/`high`/`low` (a bar is replayed as one tick at its close; `high` and `low` are not
  read). With `fill = next-open`, `open` is required: each bar's open is also replayed, as a
  quote that orders fill at and strategies never see (flows.sources.bar_opens); with
  `adjusted`, the open is adjusted by the bar's `Adj Close / Close`.
A file that cannot be used (a missing column, a time or price that does not parse) is refused
with one line naming the column, the line and what was expected. Rows whose values break the
Tick contract (a price of zero, a crossed quote) are reported with their row number as dead
letters instead of being replayed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from flows.sources.bar_opens import open_times, with_opens
from flows.trading.ticks import NO_SIZE, Int64s, TickColumns
from schemas.common import MAX_TS_MS, MIN_TS_MS, SYMBOL_PATTERN, BarFill
from schemas.market import MAX_SIZE
from schemas.trading import DeadLetter

TIME_NAMES = ("timestamp", "ts", "datetime", "date", "time")  # Stooq has date and time
PRICE_NAMES = ("last", "close")
SIZE_NAMES = {
    side: (f"{side}_size", f"{side}size", f"{side} size", f"{side}_sz") for side in ("bid", "ask")
}
ADJUSTED_NAMES = ("adj close", "adj_close", "adjclose", "adjusted_close")
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"
_ZONED = r"(Z|[+-]\d\d:?\d\d)$"
_DATE_TIME = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$"


class TickFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FileFormat:
    """How to read a file's columns: the symbol of a single-symbol file, whether to trade the
    adjusted close, the exchange's zone and close for times given without a zone, where bars
    fill (at the close, or at the next bar's open: then each bar's open is a row too), and the
    session open, where a date-only bar opens."""

    symbol: str | None = None
    adjusted: bool = False
    exchange_tz: str = "America/New_York"
    session_close: time = time(16, 0)
    fill: BarFill = BarFill.CLOSE
    session_open: time = time(9, 30)


@dataclass(slots=True)
class FileTicks(TickColumns):
    """Valid rows of a file in time order; `rejected` holds (row number, reason) of the others."""

    # The row number in the file (0-based, header excluded): the row's identity. A bar's open
    # (fill = next-open) has its row plus the file's row count (flows.sources.bar_opens).
    rows: Int64s
    rejected: list[tuple[int, str]]

    def chunks(self, size: int) -> Iterator[slice]:
        for start in range(0, len(self), size):
            yield slice(start, min(start + size, len(self)))


def _read_table(path: Path) -> pa.Table:
    if not path.exists():
        raise TickFileError(f"{path} does not exist")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pq.read_table(path)
        if name.endswith((".csv", ".txt", ".csv.gz", ".txt.gz")):
            return pa_csv.read_csv(path)  # gzip is recognised from the name
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TickFileError(f"{path}: cannot read it: {first}") from None
    raise TickFileError(f"{path}: expected a .csv, .csv.gz or .parquet file")


def _where(path: Path, row: int) -> str:
    """A row as a user finds it: its line in a CSV (the header is line 1), else its number."""
    name = path.name.lower()
    return f"row {row + 1}" if name.endswith((".parquet", ".pq")) else f"line {row + 2}"


class _Table:
    """The file's table with its columns found by name, and errors that name the place."""

    def __init__(self, path: Path, table: pa.Table):
        self.path = path
        self.table = table
        self.names = {name.lower().strip("<> "): name for name in table.column_names}

    def find(self, names: tuple[str, ...], required: bool) -> tuple[str, pa.ChunkedArray] | None:
        for name in names:
            if name in self.names:
                return self.names[name], self.table.column(self.names[name])
        if required:
            raise TickFileError(
                f"{self.path}: no {' or '.join(repr(n) for n in names)} column; "
                f"the columns are {', '.join(self.table.column_names)}"
            )
        return None

    def error(self, column: str, row: int, expected: str, value: object) -> TickFileError:
        return TickFileError(
            f"{self.path}: column {column!r}, {_where(self.path, row)}: "
            f"expected {expected}, got {value!r}"
        )


def _session_close_ms(days: np.ndarray, form: FileFormat) -> np.ndarray:
    """Epoch ms of the session close of each day (days since the epoch), in the exchange zone."""
    return _local_day_time_ms(days, form.session_close, form)


def _local_day_time_ms(days: np.ndarray, at: time, form: FileFormat) -> np.ndarray:
    """Epoch ms of the local time `at` on each day (days since the epoch) in the exchange zone."""
    local = pa.array(days.astype("datetime64[D]").astype("datetime64[ms]"))
    after_midnight = (at.hour * 60 + at.minute) * 60_000
    local = pc.add(local, pa.scalar(after_midnight, pa.duration("ms")))
    return _localised(local, form)


def _localised(naive: pa.Array, form: FileFormat) -> np.ndarray:
    zoned = pc.assume_timezone(naive, form.exchange_tz, ambiguous="earliest", nonexistent="latest")
    return np.asarray(zoned.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _epoch_ms(files: _Table, name: str, column: pa.ChunkedArray, form: FileFormat) -> np.ndarray:
    kind = column.type
    values = column.combine_chunks()
    if values.null_count:
        row = int(np.flatnonzero(np.asarray(values.is_null()))[0])
        raise files.error(name, row, "a date or time", None)
    if pa.types.is_integer(kind):
        ints = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
        if (
            name.lower().strip("<> ") == "date"
            and ((ints > 19_000_000) & (ints < 21_000_000)).all()
        ):
            return _yyyymmdd(files, name, ints, form)  # Stooq writes dates as 20240102
        return ints
    if pa.types.is_date(kind):
        days = np.asarray(values.cast(pa.date32()).cast(pa.int32()), dtype=np.int64)
        return _session_close_ms(days, form)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return _localised(values.cast(pa.timestamp("ms")), form)
        return np.asarray(values.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _parsed_text(files, name, values, form)
    raise files.error(name, 0, "dates or date-times", f"a column of {kind}")


def _yyyymmdd(files: _Table, name: str, ints: np.ndarray, form: FileFormat) -> np.ndarray:
    text = pa.array([f"{v // 10000:04d}-{v // 100 % 100:02d}-{v % 100:02d}" for v in ints])
    try:
        days = np.asarray(text.cast(pa.date32()).cast(pa.int32()), dtype=np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next(i for i, v in enumerate(text.to_pylist()) if not _is_date(v))
        raise files.error(name, bad, "a date as YYYYMMDD", int(ints[bad])) from None
    return _session_close_ms(days, form)


def _date_and_clock_ms(
    files: _Table,
    date: tuple[str, pa.ChunkedArray],
    clock: tuple[str, pa.ChunkedArray],
    closes: np.ndarray,
    form: FileFormat,
) -> np.ndarray:
    """Times of a file with the date and the time of day in two columns (Stooq's intraday
    files: `<DATE>` 20240102 and `<TIME>` 153500, or `Date` and `Time` 15:35:00), in the
    exchange's local time. A time column of only midnights is a daily file's: its bars stay at
    the session close (`closes`)."""
    seconds = _seconds_of_day(files, *clock)
    if not seconds.any():
        return closes
    name, column = date
    if pa.types.is_timestamp(column.type) and column.type.tz is None:
        # Dates mixed with date-times read as timestamps: usable only if all are midnights.
        stamps = column.combine_chunks().cast(pa.timestamp("ms"))
        midnight = np.asarray(stamps.cast(pa.int64()), dtype=np.int64)
    else:
        # A date-only column gave the session closes of its dates: step back to local midnight.
        close_ms = (form.session_close.hour * 60 + form.session_close.minute) * 60_000
        midnight = _localised_back(closes, form) - close_ms
    dated = midnight % 86_400_000 == 0
    if not dated.all():
        row = int(np.flatnonzero(~dated)[0])
        value = str(column[row].as_py())
        raise files.error(name, row, "a date only (the time is in its own column)", value)
    naive = pa.array((midnight + seconds * 1000).astype("datetime64[ms]"))
    return _localised(naive, form)


def _localised_back(utc_ms: np.ndarray, form: FileFormat) -> np.ndarray:
    """Epoch ms in UTC as the exchange's local wall-clock ms (the inverse of `_localised`)."""
    zoned = pa.array(utc_ms, pa.int64()).cast(pa.timestamp("ms", tz=form.exchange_tz))
    local = pc.local_timestamp(zoned)
    return np.asarray(local.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _seconds_of_day(files: _Table, name: str, column: pa.ChunkedArray) -> np.ndarray:
    """A time-of-day column as seconds after midnight: HHMMSS integers or HH:MM[:SS] text."""
    values = column.combine_chunks()
    if pa.types.is_integer(values.type) and not values.null_count:
        hhmmss = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
        hours, minutes, secs = hhmmss // 10_000, hhmmss // 100 % 100, hhmmss % 100
        ok = (hhmmss >= 0) & (hours < 24) & (minutes < 60) & (secs < 60)
    else:
        text = values.cast(pa.string()).to_pylist()
        parts = [_clock_parts(v) for v in text]
        ok = np.array([p is not None for p in parts], dtype=bool)
        hours, minutes, secs = (
            np.array([p[i] if p is not None else 0 for p in parts], dtype=np.int64)
            for i in range(3)
        )
        hhmmss = np.zeros(len(parts), dtype=np.int64)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        shown = int(hhmmss[row]) if pa.types.is_integer(values.type) else values[row].as_py()
        raise files.error(name, row, "a time of day as HHMMSS or HH:MM:SS", shown)
    return np.asarray(hours * 3600 + minutes * 60 + secs, dtype=np.int64)


def _clock_parts(text: str | None) -> tuple[int, int, int] | None:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", (text or "").strip())
    if match is None:
        return None
    hours, minutes, secs = int(match[1]), int(match[2]), int(match[3] or 0)
    return (hours, minutes, secs) if hours < 24 and minutes < 60 and secs < 60 else None


def _is_date(text: str) -> bool:
    try:
        pa.array([text]).cast(pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _parsed_text(files: _Table, name: str, values: pa.Array, form: FileFormat) -> np.ndarray:
    """Dates, zoned or local date-times as text; one kind per column."""
    shaped = np.asarray(pc.match_substring_regex(values, _DATE_TIME))
    if not shaped.all():
        row = int(np.flatnonzero(~shaped)[0])
        expected = "a date (2024-01-02) or a date-time (2024-01-02T15:30:00Z)"
        raise files.error(name, row, expected, values[row].as_py())
    try:
        if np.asarray(pc.match_substring_regex(values, _DATE_ONLY)).all():
            days = np.asarray(values.cast(pa.date32()).cast(pa.int32()), dtype=np.int64)
            return _session_close_ms(days, form)
        zoned = np.asarray(pc.match_substring_regex(values, _ZONED))
        if zoned.all():
            parsed = values.cast(pa.timestamp("ms", tz="UTC"))
            return np.asarray(parsed.cast(pa.int64()).to_numpy(zero_copy_only=False))
        if not zoned.any():
            return _localised(values.cast(pa.timestamp("ms")), form)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        row = next(i for i, v in enumerate(values.to_pylist()) if not _parses(v))
        raise files.error(name, row, "a valid date or date-time", values[row].as_py()) from None
    row = int(np.flatnonzero(~zoned)[0])
    raise files.error(name, row, "a zone like the other rows' (Z or +hh:mm)", values[row].as_py())


def _parses(text: str) -> bool:
    try:
        pa.array([text.rstrip("Z")]).cast(pa.timestamp("ms"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _prices(files: _Table, found: tuple[str, pa.ChunkedArray]) -> np.ndarray:
    """A numeric column as floats; a missing value is NaN (rejected later as a row)."""
    name, column = found
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    if pa.types.is_null(column.type):
        return np.full(len(column), np.nan)
    text = column.combine_chunks().cast(pa.string())
    # Vendors mark a missing value with an empty field or "null" (Yahoo), which stay NaN.
    missing = np.asarray(
        pc.fill_null(pc.is_in(pc.utf8_lower(text), pa.array(["", "null", "nan"])), True)
    )
    numbers = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    try:
        return np.asarray(numbers.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        for row, value in enumerate(numbers.to_pylist()):
            try:
                float(value) if value is not None else None
            except ValueError:
                raise files.error(name, row, "a number", value) from None
        raise


def _floats(column: pa.ChunkedArray | None, fallback: np.ndarray) -> np.ndarray:
    if column is None:
        return fallback
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def read_ticks(path: Path, form: FileFormat | None = None) -> FileTicks:
    """Read and check a tick or bar file (see the module docstring for its columns)."""
    form = form or FileFormat()
    files = _Table(path, _read_table(path))
    time_name, time_column = files.find(TIME_NAMES, required=True) or ("", pa.chunked_array([]))
    ts = _epoch_ms(files, time_name, time_column, form)
    clock = files.find(("time",), False) if time_name.lower().strip("<> ") == "date" else None
    if clock is not None:
        ts = _date_and_clock_ms(files, (time_name, time_column), clock, ts, form)
    price_names = ADJUSTED_NAMES if form.adjusted else PRICE_NAMES
    last = _prices(files, files.find(price_names, required=True) or ("", time_column))
    quote = (files.find(("bid",), False), files.find(("ask",), False))
    bid = last if quote[0] is None else _prices(files, quote[0])
    ask = last if quote[1] is None else _prices(files, quote[1])
    if form.adjusted and quote[0] is not None:
        raise TickFileError(f"{path}: --adjusted is for bars (Adj Close); this file has quotes")
    opens = _bar_opens(files, form, last, quote[0] is not None)
    sizes = _quote_sizes(files, quote[0] is not None and quote[1] is not None)
    volume_found = files.find(("volume", "vol"), False)
    volume = (
        np.zeros(len(ts), dtype=np.int64)
        if volume_found is None
        else np.nan_to_num(_prices(files, volume_found), nan=-1).astype(np.int64)
    )
    symbol_found = files.find(("symbol", "ticker"), required=form.symbol is None)
    if symbol_found is None:
        names = np.full(len(ts), form.symbol, dtype=object)
    else:
        names = np.asarray(symbol_found[1].to_pylist(), dtype=object)
    unique, codes = np.unique(names.astype(str), return_inverse=True)

    pattern = re.compile(SYMBOL_PATTERN)
    good_symbol = np.array([pattern.match(s) is not None for s in unique], dtype=bool)[codes]
    rows, rejected = _good_rows(ts, good_symbol, last, bid, ask, volume, opens, sizes)
    order = rows[np.lexsort((rows, ts[rows]))]
    ticks = FileTicks(
        ts=ts[order],
        codes=codes[order].astype(np.int32),
        symbols=tuple(str(s) for s in unique),
        bid=bid[order],
        ask=ask[order],
        last=last[order],
        volume=volume[order],
        rows=order.astype(np.int64),
        rejected=sorted(rejected),
        bid_size=None if sizes is None else _whole(sizes[0][order]),
        ask_size=None if sizes is None else _whole(sizes[1][order]),
    )
    if opens is None:
        return ticks
    times = open_times(ticks.ts, ticks.codes, *_day_marks(ticks.ts, form))
    ticks, ticks.rows = with_opens(ticks, ticks.rows, opens[order], times, row_count=len(ts))
    return ticks


def _good_rows(
    ts: np.ndarray,
    good_symbol: np.ndarray,
    last: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    volume: np.ndarray,
    opens: np.ndarray | None,
    sizes: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The rows that pass every check, and each other row with the first check it fails."""
    with np.errstate(invalid="ignore"):
        checks = [
            ((ts >= MIN_TS_MS) & (ts <= MAX_TS_MS), "timestamp out of range"),
            (good_symbol, "symbol does not match the pattern"),
            (np.isfinite(last) & (last > 0), "price is not a positive finite number"),
            (np.isfinite(bid) & (bid > 0) & np.isfinite(ask) & (ask > 0), "bid/ask not positive"),
            (bid <= ask, "bid is above ask (a crossed quote)"),
            (volume >= 0, "volume is negative or missing"),
        ]
        if opens is not None:
            checks.append((np.isfinite(opens) & (opens > 0), "open is not a positive number"))
        if sizes is not None:
            quoted = ~np.isnan(sizes[0]), ~np.isnan(sizes[1])
            checks.append((quoted[0] == quoted[1], "bid_size and ask_size come together"))
            whole = [
                ~q | ((s >= 0) & (s <= MAX_SIZE) & (s == np.floor(s)))
                for q, s in zip(quoted, sizes, strict=True)
            ]
            checks.append((whole[0] & whole[1], "a size is not a whole number >= 0"))
    ok = np.ones(len(ts), dtype=bool)
    rejected: list[tuple[int, str]] = []
    for passed, reason in checks:
        failing = np.flatnonzero(ok & ~passed)
        rejected.extend((int(row), reason) for row in failing)
        ok &= passed
    return np.flatnonzero(ok), rejected


def _bar_opens(
    files: _Table, form: FileFormat, last: np.ndarray, quoted: bool
) -> np.ndarray | None:
    """Each row's open with fill = next-open (adjusted like the close it trades), else None."""
    if form.fill != BarFill.NEXT_OPEN:
        return None
    if quoted:
        raise TickFileError(f"{files.path}: --fill next-open is for bars; this file has quotes")
    found = files.find(("open",), required=False)
    if found is None:
        raise TickFileError(
            f"{files.path}: --fill next-open needs an 'Open' column; "
            f"the columns are {', '.join(files.table.column_names)}"
        )
    opens = _prices(files, found)
    if not form.adjusted:
        return opens
    # Yahoo's Open is not adjusted: scaled by the bar's Adj Close / Close, as its close is.
    close = _prices(files, files.find(("close",), required=True) or found)
    with np.errstate(divide="ignore", invalid="ignore"):
        adjusted: np.ndarray = opens * (last / close)
    return adjusted


def _quote_sizes(files: _Table, quoted: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The bid and ask size columns as floats (NaN where empty), None if the file has none."""
    found = [files.find(SIZE_NAMES[side], False) for side in ("bid", "ask")]
    if found == [None, None]:
        return None
    if None in found or not quoted:
        raise TickFileError(
            f"{files.path}: quoted sizes need all four of bid, ask, bid_size and ask_size; "
            f"the columns are {', '.join(files.table.column_names)}"
        )
    return _prices(files, found[0]), _prices(files, found[1])  # type: ignore[arg-type]


def _whole(sizes: np.ndarray) -> np.ndarray:
    """Checked sizes as integers, NO_SIZE where the row quoted none."""
    return np.where(np.isnan(sizes), NO_SIZE, sizes).astype(np.int64)


def has_open_column(path: Path) -> bool:
    """Whether the file has an `Open` column, from its header (CSV) or schema (Parquet) only:
    a quick check before a next-open run is queued. A file that cannot be read says no."""
    try:
        if path.name.lower().endswith((".parquet", ".pq")):
            names = pq.read_schema(path).names
        else:
            with pa_csv.open_csv(path) as reader:
                names = reader.schema.names
    except (pa.ArrowInvalid, OSError):
        return False
    return "open" in {name.lower().strip("<> ") for name in names}


def _day_marks(ts: np.ndarray, form: FileFormat) -> tuple[np.ndarray, np.ndarray]:
    """The local midnight and the session open of each time's day, in UTC ms."""
    days = _localised_back(ts, form) // 86_400_000
    midnights = _local_day_time_ms(days, time(0), form)
    return midnights, _local_day_time_ms(days, form.session_open, form)


def rejected_rows(source: str, ticks: FileTicks, fallback_ts: int) -> list[DeadLetter]:
    """Dead letters for the rows of a file that could not be replayed."""
    return [
        DeadLetter.of(f"file:{source}", 0, row, fallback_ts, None, f"row {row}".encode(), reason)
        for row, reason in ticks.rejected
    ]
