"""Quoted sizes in tick files: the columns under vendors' names, the rows that break the rules
reported as dead letters, and files that cannot carry sizes refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.sources.tick_file import TickFileError, read_ticks
from flows.trading.ticks import NO_SIZE

HEADER = "timestamp,symbol,bid,ask,last,{bid},{ask}"


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.mark.parametrize(
    ("bid", "ask"),
    [
        ("bid_size", "ask_size"),
        ("BidSize", "AskSize"),
        ("BID_SZ", "ASK_SZ"),
        ("Bid Size", "Ask Size"),
    ],
)
def test_size_columns_are_read_under_vendor_names(tmp_path: Path, bid: str, ask: str) -> None:
    path = write(
        tmp_path / "q.csv",
        HEADER.format(bid=bid, ask=ask),
        [
            "1795444200000,AAPL,10.0,10.1,10.05,300,0",
            "1795444201000,AAPL,10.0,10.0,10.0,,",  # no sizes: a price, not a quote
        ],
    )
    ticks = read_ticks(path)
    assert ticks.bid_size is not None
    assert ticks.ask_size is not None
    assert ticks.bid_size.tolist() == [300, NO_SIZE]
    assert ticks.ask_size.tolist() == [0, NO_SIZE]
    assert ticks.rejected == []


def test_rows_with_bad_sizes_are_rejected_with_the_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        HEADER.format(bid="bid_size", ask="ask_size"),
        [
            "1795444200000,AAPL,10.0,10.1,10.05,-5,100",
            "1795444201000,AAPL,10.0,10.1,10.05,1.5,100",
            "1795444202000,AAPL,10.0,10.1,10.05,,100",
            "1795444203000,AAPL,10.0,10.1,10.05,200,100",
        ],
    )
    ticks = read_ticks(path)
    assert ticks.rows.tolist() == [3]
    assert ticks.rejected == [
        (0, "a size is not a whole number >= 0"),
        (1, "a size is not a whole number >= 0"),
        (2, "bid_size and ask_size come together"),
    ]


def test_a_file_without_sizes_has_no_size_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "timestamp,symbol,last", ["1795444200000,AAPL,10.0"])
    assert read_ticks(path).bid_size is None


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("timestamp,symbol,bid,ask,last,bid_size", "1795444200000,AAPL,10.0,10.1,10.05,5"),
        ("timestamp,symbol,last,bid_size,ask_size", "1795444200000,AAPL,10.0,5,5"),
    ],
)
def test_sizes_need_a_whole_quote(tmp_path: Path, header: str, row: str) -> None:
    with pytest.raises(TickFileError, match="quoted sizes need all four"):
        read_ticks(write(tmp_path / "q.csv", header, [row]))
