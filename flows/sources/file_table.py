"""A tick file's table: read once, its columns found by name, and errors that name the place.

The reading of a file as a whole is flows.sources.tick_file; its times, flows.sources.file_times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from schemas.common import BarFill


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


def read_table(path: Path) -> pa.Table:
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


class FileTable:
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
