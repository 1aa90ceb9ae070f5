"""A bar file's opens for `--fill next-open`: when each bar opens, how the opens sit between the
closes, and the file errors of the option."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from random import Random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.sources.bar_opens import NO_OPEN, open_times, with_opens
from flows.sources.tick_file import FileFormat, TickFileError, has_open_column, read_ticks
from flows.trading.ticks import TickColumns
from schemas.common import BarFill

NEXT_OPEN = FileFormat(symbol="SPY", fill=BarFill.NEXT_OPEN)
DAY = 86_400_000
SESSION_OPEN = 34_200_000  # 09:30 after midnight


def utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_a_daily_bar_opens_at_the_session_open_of_its_day(tmp_path: Path) -> None:
    bars = tmp_path / "SPY.csv"
    bars.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02,472.16,473.67,470.49,472.65,123\n"
        "2024-07-01,545.63,545.88,542.52,545.34,456\n"
    )
    ticks = read_ticks(bars, NEXT_OPEN)
    assert ticks.quote_only is not None
    # New York: 09:30 is 14:30Z in winter, 13:30Z in summer; the closes stay at 16:00.
    assert ticks.ts.tolist() == [
        utc_ms("2024-01-02T14:30"),
        utc_ms("2024-01-02T21:00"),
        utc_ms("2024-07-01T13:30"),
        utc_ms("2024-07-01T20:00"),
    ]
    assert ticks.quote_only.tolist() == [True, False, True, False]
    assert ticks.last.tolist() == [472.16, 472.65, 545.63, 545.34]
    assert ticks.bid.tolist() == ticks.ask.tolist() == ticks.last.tolist()
    assert ticks.volume.tolist() == [0, 123, 0, 456]  # an open is a quote, not a trade
    assert ticks.rows.tolist() == [2, 0, 3, 1]  # an open's offset: its row plus the row count


def test_the_closes_are_the_rows_of_a_close_fill_run(tmp_path: Path) -> None:
    bars = tmp_path / "SPY.csv"
    bars.write_text("Date,Open,Close,Adj Close\n2024-01-03,11,12,6\n2024-01-02,10,10.5,5.25\n")
    at_close = read_ticks(bars, FileFormat(symbol="SPY"))
    at_open = read_ticks(bars, NEXT_OPEN)
    assert at_open.quote_only is not None
    closes = at_open.take(~at_open.quote_only)
    for name in ("ts", "codes", "bid", "ask", "last", "volume", "rows"):
        assert np.array_equal(getattr(closes, name), getattr(at_close, name)), name
    # Adjusted: the open is scaled like the close (Yahoo's Open is not adjusted).
    adjusted = read_ticks(bars, FileFormat(symbol="SPY", fill=BarFill.NEXT_OPEN, adjusted=True))
    assert adjusted.last.tolist() == pytest.approx([5.0, 5.25, 5.5, 6.0])


def test_a_bar_without_a_usable_open_is_refused_or_a_dead_letter(tmp_path: Path) -> None:
    bars = tmp_path / "SPY.csv"
    bars.write_text("Date,Open,Close\n2024-01-02,10,10.5\n2024-01-03,x,9\n")
    with pytest.raises(TickFileError, match=r"column 'Open', line 3: expected a number, got 'x'"):
        read_ticks(bars, NEXT_OPEN)
    bars.write_text(bars.read_text().replace(",x,", ",null,"))
    assert read_ticks(bars, FileFormat(symbol="SPY")).rejected == []
    # Nothing decided before that bar could fill at its open: the row is a dead letter.
    assert read_ticks(bars, NEXT_OPEN).rejected == [(1, "open is not a positive number")]


def test_next_open_without_an_open_column_is_one_clear_line(tmp_path: Path) -> None:
    bars = tmp_path / "closes.csv"
    bars.write_text("Date,Close\n2024-01-02,10\n")
    with pytest.raises(TickFileError) as raised:
        read_ticks(bars, NEXT_OPEN)
    assert str(raised.value) == (
        f"{bars}: --fill next-open needs an 'Open' column; the columns are Date, Close"
    )
    quotes = tmp_path / "quotes.csv"
    quotes.write_text("timestamp,symbol,bid,ask,open,last\n1700000000000,SPY,1,2,1.5,1.5\n")
    with pytest.raises(TickFileError, match="--fill next-open is for bars; this file has quotes"):
        read_ticks(quotes, NEXT_OPEN)


def test_the_open_column_is_found_from_the_header_alone(tmp_path: Path) -> None:
    yahoo = tmp_path / "SPY.csv.gz"
    with gzip.open(yahoo, "wt") as handle:
        handle.write("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.4,9\n")
    stooq = tmp_path / "spy.txt"
    stooq.write_text("<TICKER>,<DATE>,<OPEN>,<CLOSE>\nSPY.US,20240102,1,1.5\n")
    closes = tmp_path / "closes.parquet"
    pq.write_table(pa.table({"date": ["2024-01-02"], "close": [1.5]}), closes)
    assert has_open_column(yahoo)
    assert has_open_column(stooq)
    assert not has_open_column(closes)
    assert not has_open_column(tmp_path / "missing.csv")


def test_intraday_bars_open_where_the_previous_bar_closed() -> None:
    """Minute bars of two symbols over two days (times in ms after the first midnight, the
    zone's offset left out): a day's first bar opens at 09:30, the next ones at the previous
    bar's time; a pre-market bar at midnight; duplicate times get no open."""
    minute = 60_000
    ts = np.array(
        [
            4 * 3_600_000,  # A pre-market 04:00: opens at midnight
            SESSION_OPEN + minute,  # A 09:31: the session open beats 04:00
            SESSION_OPEN + minute,  # B 09:31: its first bar, at the session open
            SESSION_OPEN + 2 * minute,  # A 09:32: at A's 09:31
            SESSION_OPEN + 2 * minute,  # B 09:32 twice: the second has no open
            SESSION_OPEN + 2 * minute,
            DAY + SESSION_OPEN + minute,  # A next day 09:31: the session open, not yesterday
        ],
        dtype=np.int64,
    )
    codes = np.array([0, 0, 1, 0, 1, 1, 0])
    days = ts // DAY * DAY
    opens = open_times(ts, codes, days, days + SESSION_OPEN)
    assert opens.tolist() == [
        0,
        SESSION_OPEN,
        SESSION_OPEN,
        SESSION_OPEN + minute,
        SESSION_OPEN + minute,
        NO_OPEN,
        DAY + SESSION_OPEN,
    ]


def bars_of(ts: np.ndarray, codes: np.ndarray) -> TickColumns:
    n = len(ts)
    return TickColumns(
        ts=ts,
        codes=codes.astype(np.int32),
        symbols=("A", "B", "C"),
        bid=np.arange(n) + 100.0,
        ask=np.arange(n) + 100.0,
        last=np.arange(n) + 100.0,
        volume=np.full(n, 7, dtype=np.int64),
    )


@given(
    st.lists(st.tuples(st.integers(0, 3 * DAY), st.integers(0, 2)), min_size=1, max_size=40),
    st.randoms(use_true_random=False),
)
def test_every_open_sits_between_its_symbols_previous_close_and_its_own(
    bars: list[tuple[int, int]], random: Random
) -> None:
    """Whatever the times (intraday, overnight, duplicates, several symbols): the closes are
    kept as they were, the stream is in (time, offset) order, no symbol's time goes backwards,
    and each open is its symbol's next row after the previous close, right before its own."""
    rows_in_file = np.arange(len(bars), dtype=np.int64)
    random.shuffle(rows_in_file)  # a file's row order need not be its time order
    raw = np.array([t for t, _ in bars], dtype=np.int64)
    order = np.lexsort((rows_in_file, raw))
    ts, codes, rows = raw[order], np.array([c for _, c in bars])[order], rows_in_file[order]
    closes = bars_of(ts, codes)
    days = ts // DAY * DAY
    times = open_times(ts, codes, days, days + SESSION_OPEN)
    opens = np.arange(len(ts)) + 0.5
    merged, offsets = with_opens(closes, rows, opens, times, row_count=len(bars))
    assert merged.quote_only is not None
    kept = ~merged.quote_only
    assert np.array_equal(merged.ts[kept], ts)
    assert np.array_equal(offsets[kept], rows)
    assert np.array_equal(merged.last[kept], closes.last)
    bar_of_row = {int(row): bar for bar, row in enumerate(rows)}
    for at in np.flatnonzero(merged.quote_only):
        bar = bar_of_row[int(offsets[at]) - len(bars)]
        assert merged.last[at] == opens[bar]
        assert merged.ts[at] == times[bar]
    assert merged.quote_only.sum() == (times != NO_OPEN).sum()
    assert np.all(np.lexsort((offsets, merged.ts)) == np.arange(len(merged)))
    for code in range(3):
        mine = np.flatnonzero(merged.codes == code)
        assert np.all(np.diff(merged.ts[mine]) >= 0)  # the market stage drops nothing as late
        flags = merged.quote_only[mine]
        for at in np.flatnonzero(flags):
            assert at + 1 < len(mine)
            assert not flags[at + 1]
            assert offsets[mine[at + 1]] == offsets[mine[at]] - len(bars)  # ...its own
