"""The times of a tick file's rows as epoch ms (UTC), however the vendor wrote them; see
flows.sources.tick_file for the forms a time column may take."""

from __future__ import annotations

import re
from datetime import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.sources.file_table import FileFormat, FileTable

_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"
_ZONED = r"(Z|[+-]\d\d:?\d\d)$"
_DATE_TIME = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$"


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


def epoch_ms(files: FileTable, name: str, column: pa.ChunkedArray, form: FileFormat) -> np.ndarray:
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


def _yyyymmdd(files: FileTable, name: str, ints: np.ndarray, form: FileFormat) -> np.ndarray:
    text = pa.array([f"{v // 10000:04d}-{v // 100 % 100:02d}-{v % 100:02d}" for v in ints])
    try:
        days = np.asarray(text.cast(pa.date32()).cast(pa.int32()), dtype=np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next(i for i, v in enumerate(text.to_pylist()) if not _is_date(v))
        raise files.error(name, bad, "a date as YYYYMMDD", int(ints[bad])) from None
    return _session_close_ms(days, form)


def date_and_clock_ms(
    files: FileTable,
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
        midnight = localised_back(closes, form) - close_ms
    dated = midnight % 86_400_000 == 0
    if not dated.all():
        row = int(np.flatnonzero(~dated)[0])
        value = str(column[row].as_py())
        raise files.error(name, row, "a date only (the time is in its own column)", value)
    naive = pa.array((midnight + seconds * 1000).astype("datetime64[ms]"))
    return _localised(naive, form)


def localised_back(utc_ms: np.ndarray, form: FileFormat) -> np.ndarray:
    """Epoch ms in UTC as the exchange's local wall-clock ms (the inverse of `_localised`)."""
    zoned = pa.array(utc_ms, pa.int64()).cast(pa.timestamp("ms", tz=form.exchange_tz))
    local = pc.local_timestamp(zoned)
    return np.asarray(local.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _seconds_of_day(files: FileTable, name: str, column: pa.ChunkedArray) -> np.ndarray:
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


def _parsed_text(files: FileTable, name: str, values: pa.Array, form: FileFormat) -> np.ndarray:
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


def day_marks(ts: np.ndarray, form: FileFormat) -> tuple[np.ndarray, np.ndarray]:
    """The local midnight and the session open of each time's day, in UTC ms."""
    days = localised_back(ts, form) // 86_400_000
    midnights = _local_day_time_ms(days, time(0), form)
    return midnights, _local_day_time_ms(days, form.session_open, form)
