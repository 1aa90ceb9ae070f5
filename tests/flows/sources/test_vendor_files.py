"""Bar files as Yahoo and Stooq write them, and the one-line errors of files that cannot be used."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.sources.tick_file import FileFormat, TickFileError, read_ticks

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,187.150009,188.440002,183.889999,185.639999,184.938217,82488700
2024-01-03,184.220001,185.880005,183.429993,184.250000,183.553482,58414500
2024-07-01,212.089996,217.509995,211.919998,216.750000,216.238663,60402900
"""
STOOQ_DAILY = """Date,Open,High,Low,Close,Volume
2024-01-02,185.64,188.44,183.89,185.64,82488700
2024-01-03,184.22,185.88,183.43,184.25,58414500
"""
STOOQ_BULK = """<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>
AAPL.US,D,20240102,000000,187.15,188.44,183.89,185.64,82488700,0
AAPL.US,D,20240103,000000,184.22,185.88,183.43,184.25,58414500,0
"""


def utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_a_yahoo_file_is_a_day_per_row_at_the_new_york_close(tmp_path: Path) -> None:
    ticks = read_ticks(write(tmp_path, "AAPL.csv", YAHOO), FileFormat(symbol="AAPL"))
    assert ticks.symbols == ("AAPL",)
    # 16:00 New York: 21:00Z in winter (EST), 20:00Z in summer (EDT).
    assert ticks.ts.tolist() == [
        utc_ms("2024-01-02T21:00:00+00:00"),
        utc_ms("2024-01-03T21:00:00+00:00"),
        utc_ms("2024-07-01T20:00:00+00:00"),
    ]
    assert ticks.last.tolist() == [185.639999, 184.25, 216.75]
    assert ticks.volume.tolist() == [82488700, 58414500, 60402900]
    assert not ticks.rejected


def test_adjusted_trades_yahoo_adj_close(tmp_path: Path) -> None:
    form = FileFormat(symbol="AAPL", adjusted=True)
    ticks = read_ticks(write(tmp_path, "AAPL.csv.gz", YAHOO), form)
    assert ticks.last.tolist() == [184.938217, 183.553482, 216.238663]
    assert np.array_equal(ticks.bid, ticks.last)


def test_stooq_daily_and_bulk_files_read_alike(tmp_path: Path) -> None:
    daily = read_ticks(write(tmp_path, "aapl_us_d.csv", STOOQ_DAILY), FileFormat(symbol="AAPL.US"))
    bulk = read_ticks(write(tmp_path, "aapl.us.txt", STOOQ_BULK))
    assert bulk.symbols == daily.symbols == ("AAPL.US",)
    assert (
        bulk.ts.tolist()
        == daily.ts.tolist()
        == [
            utc_ms("2024-01-02T21:00:00+00:00"),
            utc_ms("2024-01-03T21:00:00+00:00"),
        ]
    )
    assert bulk.last.tolist() == daily.last.tolist()


STOOQ_INTRADAY = """<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>
AAPL.US,5,20240102,153500,185.50,185.70,185.40,185.64,1200,0
AAPL.US,5,20240102,154000,185.64,185.80,185.60,185.70,900,0
AAPL.US,5,20240703,093500,184.10,184.30,184.00,184.25,1500,0
"""
STOOQ_INTRADAY_TEXT = """Date,Time,Open,High,Low,Close,Volume
2024-01-02,15:35:00,185.50,185.70,185.40,185.64,1200
2024-01-02,15:40:00,185.64,185.80,185.60,185.70,900
2024-07-03,09:35:00,184.10,184.30,184.00,184.25,1500
"""


def test_stooq_intraday_date_and_time_columns_are_exchange_local_time(tmp_path: Path) -> None:
    bulk = read_ticks(write(tmp_path, "aapl.us.txt", STOOQ_INTRADAY))
    text = read_ticks(
        write(tmp_path, "aapl.csv", STOOQ_INTRADAY_TEXT), FileFormat(symbol="AAPL.US")
    )
    # 15:35 New York in January is 20:35Z (EST); 09:35 in July is 13:35Z (EDT).
    expected = [
        utc_ms("2024-01-02T20:35:00+00:00"),
        utc_ms("2024-01-02T20:40:00+00:00"),
        utc_ms("2024-07-03T13:35:00+00:00"),
    ]
    assert bulk.ts.tolist() == text.ts.tolist() == expected
    assert bulk.last.tolist() == text.last.tolist() == [185.64, 185.70, 184.25]


@pytest.mark.parametrize(
    ("value", "shown"), [("25:35:00", "'25:35:00'"), ("noon", "'noon'"), ("9.5", "'9.5'")]
)
def test_a_time_of_day_that_does_not_parse_is_one_line_naming_it(
    tmp_path: Path, value: str, shown: str
) -> None:
    text = STOOQ_INTRADAY_TEXT.replace("15:40:00", value)
    with pytest.raises(TickFileError) as caught:
        read_ticks(write(tmp_path, "aapl.csv", text), FileFormat(symbol="AAPL.US"))
    message = str(caught.value)
    assert "column 'Time', line 3" in message
    assert f"expected a time of day as HHMMSS or HH:MM:SS, got {shown}" in message
    assert "\n" not in message


def test_a_date_time_beside_a_time_column_is_refused(tmp_path: Path) -> None:
    text = STOOQ_INTRADAY_TEXT.replace("2024-01-02,15:40:00", "2024-01-02 10:00:00,15:40:00")
    with pytest.raises(TickFileError, match=r"column 'Date', line 3: expected a date only"):
        read_ticks(write(tmp_path, "aapl.csv", text), FileFormat(symbol="AAPL.US"))


def test_local_date_times_are_exchange_time_and_another_zone_can_be_chosen(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "m.csv", "datetime,close\n2024-03-08 09:30:00,10\n2024-03-11 09:30,11\n")
    new_york = read_ticks(path, FileFormat(symbol="X"))
    assert new_york.ts.tolist() == [
        utc_ms("2024-03-08T14:30:00+00:00"),  # EST
        utc_ms("2024-03-11T13:30:00+00:00"),  # EDT from 2024-03-10
    ]
    tokyo = read_ticks(path, FileFormat(symbol="X", exchange_tz="Asia/Tokyo"))
    assert tokyo.ts[0] == utc_ms("2024-03-08T00:30:00+00:00")


def test_parquet_dates_and_the_years_before_2000(tmp_path: Path) -> None:
    path = tmp_path / "old.parquet"
    table = pa.table(
        {
            "date": pa.array([datetime(1972, 6, 1).date(), datetime(1999, 12, 31).date()]),
            "symbol": ["IBM", "IBM"],
            "close": [350.0, 107.87],
        }
    )
    pq.write_table(table, path)
    ticks = read_ticks(path)
    assert ticks.ts.tolist() == [
        utc_ms("1972-06-01T20:00:00+00:00"),
        utc_ms("1999-12-31T21:00:00+00:00"),
    ]


@pytest.mark.parametrize(
    ("text", "symbol", "message"),
    [
        (
            "Date,Close\n2024-01-02,1\n2024-13-45,2\n",
            "X",
            "column 'Date', line 3: expected a valid date or date-time, got '2024-13-45'",
        ),
        (
            "Date,Close\n2024-01-02,1\nyesterday,2\n",
            "X",
            "column 'Date', line 3: expected a date (2024-01-02) or a date-time "
            "(2024-01-02T15:30:00Z), got 'yesterday'",
        ),
        (
            "Date,Close\n2024-01-02,1\n2024-01-03,abc\n",
            "X",
            "column 'Close', line 3: expected a number, got 'abc'",
        ),
        (
            "Date,Open\n2024-01-02,1\n",
            "X",
            "no 'last' or 'close' column; the columns are Date, Open",
        ),
        ("Date,Close\n2024-01-02,1\n", None, "no 'symbol' or 'ticker' column"),
        (
            "ts,symbol,close\n2024-01-02T10:00:00Z,X,1\n2024-01-02T10:00:01,X,1\n",
            None,
            "column 'ts', line 3: expected a zone like the other rows' (Z or +hh:mm)",
        ),
    ],
)
def test_a_file_that_cannot_be_used_is_one_line_naming_column_and_line(
    tmp_path: Path, text: str, symbol: str | None, message: str
) -> None:
    with pytest.raises(TickFileError) as raised:
        read_ticks(write(tmp_path, "bad.csv", text), FileFormat(symbol=symbol))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_yahoo_null_rows_are_dead_letters_not_errors(tmp_path: Path) -> None:
    text = YAHOO + "2024-07-02,null,null,null,null,null,null\n"
    ticks = read_ticks(write(tmp_path, "AAPL.csv", text), FileFormat(symbol="AAPL"))
    assert len(ticks) == 3
    assert ticks.rejected == [(3, "price is not a positive finite number")]


def test_symbols_are_sorted_codes_and_a_missing_symbol_is_a_dead_letter(tmp_path: Path) -> None:
    """Symbols are coded in sorted order whatever order they first appear in, across the
    Parquet file's row groups; a row without a symbol is reported, not replayed."""
    path = tmp_path / "ticks.parquet"
    symbols = ["MSFT", "AAPL", None, "BRK.B", "AAPL", "msft"]
    table = pa.table(
        {
            "timestamp": pa.array([utc_ms("2024-01-02T15:30:00Z") + i for i in range(6)]),
            "symbol": pa.array(symbols, pa.string()),
            "last": pa.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0]),
        }
    )
    pq.write_table(table, path, row_group_size=2)
    ticks = read_ticks(path)
    assert [ticks.symbols[c] for c in ticks.codes] == ["MSFT", "AAPL", "BRK.B", "AAPL"]
    assert list(ticks.symbols) == sorted(ticks.symbols)
    assert ticks.rows.tolist() == [0, 1, 3, 4]
    assert ticks.rejected == [
        (2, "symbol does not match the pattern"),
        (5, "symbol does not match the pattern"),
    ]
