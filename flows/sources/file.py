"""A recorded tick file (CSV or Parquet) in chunks: the fastest way to backtest.

The file is read and checked once, then handed to the flow in chunks as already-decoded
batches, so a replay skips JSON entirely. It is one channel, `file:0`, whose offsets are the
rows' numbers in the file; resume state is the next chunk's start. With `--fill next-open` the
bars' opens travel as quote-only rows beside them (flows.sources.bar_opens): they are not
messages of the file, so progress and the bad-input rate count the bars alone. The Bytewax
adapter is `flows.stages.inputs.TickFileSource`.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from flows.sources.decode import Decoded
from flows.sources.tick_file import FileFormat, FileTicks, read_ticks, rejected_rows
from flows.trading.ticks import TickBatch
from schemas.common import MIN_TS_MS

FILE_CHANNEL = "file:0"


class FileChunks:
    """The file's rows from `start` on, `chunk` at a time; `done` after the last."""

    def __init__(
        self,
        ticks: FileTicks,
        source: str,
        start: int,
        chunk: int,
        stop: threading.Event | None,
    ):
        self._ticks = ticks
        self._source = source
        self._next = start
        self._chunk = chunk
        self._stop = stop
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    @property
    def position(self) -> int:
        """The next chunk's first row: the resume state."""
        return self._next

    def read(self) -> Decoded:
        ticks = self._ticks
        cancelled = self._stop is not None and self._stop.is_set()
        end = len(ticks) if cancelled else min(self._next + self._chunk, len(ticks))
        part = slice(self._next, end if not cancelled else self._next)
        dead = []
        if self._next == 0 and ticks.rejected:
            first_ts = int(ticks.ts[0]) if len(ticks) else MIN_TS_MS
            dead = rejected_rows(self._source, ticks, first_ts)
        self._next = end
        self._done = end >= len(ticks)
        rows = ticks.rows[part]
        quote_only = ticks.quote_only[part] if ticks.quote_only is not None else None
        batch = TickBatch(
            channel=FILE_CHANNEL,
            partition=0,
            offsets=rows,
            ts=ticks.ts[part],
            codes=ticks.codes[part],
            symbols=ticks.symbols,
            bid=ticks.bid[part],
            ask=ticks.ask[part],
            last=ticks.last[part],
            volume=ticks.volume[part],
            raw_ts=ticks.ts[part].copy(),
            eof=self._done,
            quote_only=quote_only,
            bid_size=ticks.bid_size[part] if ticks.bid_size is not None else None,
            ask_size=ticks.ask_size[part] if ticks.ask_size is not None else None,
        )
        bars = rows if quote_only is None else rows[~quote_only]
        return Decoded(ticks=batch, dead=dead, messages=len(bars), raw_offsets=bars)


def open_tick_file(
    path: Path,
    form: FileFormat,
    from_ts: int | None,
    to_ts: int | None,
    start: int,
    chunk: int,
    stop: threading.Event | None,
) -> FileChunks:
    """Read and check `path` once, keep the rows in [from_ts, to_ts), and chunk them."""
    ticks = read_ticks(path, form)
    if from_ts is not None or to_ts is not None:
        lo = from_ts if from_ts is not None else np.iinfo(np.int64).min
        hi = to_ts if to_ts is not None else np.iinfo(np.int64).max
        ticks = ticks.take((ticks.ts >= lo) & (ticks.ts < hi))
    return FileChunks(ticks, str(path), start, chunk, stop)
