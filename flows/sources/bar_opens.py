"""The opens of a bar file, as quotes between its closes: how `--fill next-open` is replayed.

A bar file is replayed as one tick per bar at its close (flows.sources.tick_file). To fill an
order decided on bar t at bar t+1's open, every bar also gets a row of its own open (bid = ask
= last = the open, volume 0) marked `quote_only`: strategies never see it, so their indicators
read the closes as before, while the account's quotes, marks and resting orders do. An order
decided on a close rests until its instrument's next quote, which is the next bar's open.

When a bar opens. A bar's time is its close's (as a date-only bar's is the session close), so
a bar opens at the latest of these that is earlier than its own time:
- the time of the previous bar of its symbol (intraday bars follow each other);
- the session open of its day in the exchange's zone (09:30 New York), which is where a date-
  only bar and the first bar of a day open, not at the previous evening's close;
- local midnight of its day (a pre-market bar stamped before the session open).
The first bar of a symbol stamped at midnight, and a bar stamped at the same time as the
previous bar of its symbol, have no open row. A vendor that stamps intraday bars at their
start (as Yahoo does) gets the right prices in the right order, each open one bar early.

An open row's identity (its offset) is its bar's row plus the file's row count: unique, and
after every bar's own row, so at equal times a bar's open sorts after the previous bar's close,
in the file's order and in the flow's merge by (time, partition, offset) alike.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from flows.trading.ticks import Floats, Int64s, TickColumns

NO_OPEN = np.iinfo(np.int64).min  # a bar without an open row
Bars = TypeVar("Bars", bound=TickColumns)


def previous_times(ts: Int64s, codes: np.ndarray) -> Int64s:
    """Per row (rows in time order), the time of the previous row of its symbol (NO_OPEN for
    the first)."""
    n = len(ts)
    by_symbol = np.lexsort((np.arange(n), codes))  # each symbol's rows together, in time order
    previous = np.full(n, NO_OPEN, dtype=np.int64)
    same = codes[by_symbol][1:] == codes[by_symbol][:-1]
    previous[by_symbol[1:][same]] = ts[by_symbol[:-1][same]]
    return previous


def open_times(ts: Int64s, codes: np.ndarray, midnights: Int64s, session_opens: Int64s) -> Int64s:
    """When each bar opens (UTC ms; NO_OPEN: no open row), from its time, its symbol's code,
    and its day's local midnight and session open in UTC ms (see the module docstring)."""
    previous = previous_times(ts, codes)
    candidates = np.stack([previous, midnights, session_opens])
    earlier = np.where(candidates < ts, candidates, NO_OPEN).max(axis=0)
    return np.where(previous == ts, NO_OPEN, earlier)


def with_opens(
    bars: Bars, rows: Int64s, opens: Floats, times: Int64s, row_count: int
) -> tuple[Bars, Int64s]:
    """`bars` (at their closes, in time order; `rows` their rows in the file) with a quote-only
    row at each bar's open price `opens` and time `times` (NO_OPEN: none), all in (time,
    offset) order, and the rows' offsets; `row_count` is the number of rows in the file."""
    has = np.flatnonzero(times != NO_OPEN)
    ts = np.concatenate([bars.ts, times[has]])
    offsets = np.concatenate([rows, rows[has] + row_count])
    order = np.lexsort((offsets, ts))
    # An open row starts as a copy of its bar (symbol, any other column), then gets its price.
    merged = bars.take(np.concatenate([np.arange(len(bars)), has])[order])
    is_open = np.concatenate([np.zeros(len(bars), bool), np.ones(len(has), bool)])[order]
    price = np.concatenate([bars.last, opens[has]])[order]
    merged.ts = ts[order]
    merged.bid = np.where(is_open, price, merged.bid)
    merged.ask = np.where(is_open, price, merged.ask)
    merged.last = price
    merged.volume = np.where(is_open, 0, merged.volume)
    merged.quote_only = is_open
    return merged, offsets[order]
