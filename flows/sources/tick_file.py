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
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from flows.sources.bar_opens import open_times, with_opens
from flows.sources.file_table import FileFormat, FileTable, TickFileError, read_table
from flows.sources.file_times import date_and_clock_ms, day_marks, epoch_ms
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

__all__ = [
    "FileFormat",
    "FileTicks",
    "TickFileError",
    "has_open_column",
    "read_ticks",
    "rejected_rows",
]


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


def _prices(files: FileTable, found: tuple[str, pa.ChunkedArray]) -> np.ndarray:
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


def read_ticks(path: Path, form: FileFormat | None = None) -> FileTicks:
    """Read and check a tick or bar file (see the module docstring for its columns)."""
    form = form or FileFormat()
    files = FileTable(path, read_table(path))
    time_name, time_column = files.find(TIME_NAMES, required=True) or ("", pa.chunked_array([]))
    ts = epoch_ms(files, time_name, time_column, form)
    clock = files.find(("time",), False) if time_name.lower().strip("<> ") == "date" else None
    if clock is not None:
        ts = date_and_clock_ms(files, (time_name, time_column), clock, ts, form)
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
    unique, codes = _symbol_codes(symbol_found, len(ts), form.symbol)
    pattern = re.compile(SYMBOL_PATTERN)
    good_symbol = np.array([pattern.match(s) is not None for s in unique], dtype=bool)[codes]
    rows, rejected = _good_rows(ts, good_symbol, last, bid, ask, volume, opens, sizes)
    stamps = ts[rows]
    in_order = len(stamps) < 2 or bool((np.diff(stamps) >= 0).all())  # most files are
    order = rows if in_order else rows[np.lexsort((rows, stamps))]
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
    times = open_times(ticks.ts, ticks.codes, *day_marks(ticks.ts, form))
    ticks, ticks.rows = with_opens(ticks, ticks.rows, opens[order], times, row_count=len(ts))
    return ticks


def _symbol_codes(
    found: tuple[str, pa.ChunkedArray] | None, count: int, symbol: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The file's distinct symbols in sorted order, and each row's index into them.

    Text columns are dictionary-encoded by Arrow, so only the few distinct names become Python
    strings, never a million rows of them. A missing symbol reads as 'None' (as `str` gives),
    which the symbol pattern then refuses with the row's number."""
    if found is None:
        return np.array([symbol], dtype=str), np.zeros(count, dtype=np.intp)
    column = found[1]
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        names = np.asarray(column.to_pylist(), dtype=object).astype(str)
        unique, codes = np.unique(names, return_inverse=True)
        return unique, codes
    text = pc.fill_null(column.combine_chunks().cast(pa.string()), "None")
    encoded = pc.dictionary_encode(text)
    seen = np.asarray(encoded.dictionary.to_pylist(), dtype=str)  # in order of appearance
    order = np.argsort(seen, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
    return seen[order], rank[indices]


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
    files: FileTable, form: FileFormat, last: np.ndarray, quoted: bool
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


def _quote_sizes(files: FileTable, quoted: bool) -> tuple[np.ndarray, np.ndarray] | None:
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


def rejected_rows(source: str, ticks: FileTicks, fallback_ts: int) -> list[DeadLetter]:
    """Dead letters for the rows of a file that could not be replayed."""
    return [
        DeadLetter.of(f"file:{source}", 0, row, fallback_ts, None, f"row {row}".encode(), reason)
        for row, reason in ticks.rejected
    ]
