"""A Bytewax source over a recorded tick file (CSV or Parquet): the fastest way to backtest.

The file is read and checked once, then handed to the flow in chunks as already-decoded
batches, so a replay skips JSON entirely. It is one channel, `file:0`, whose offsets are the
rows' numbers in the file; resume state is the next chunk's start.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.batches import Decoded, TickBatch
from flows.feed import rejected_rows
from flows.tick_file import FileTicks, read_ticks
from schemas.common import MIN_TS_MS

FILE_CHANNEL = "file:0"


class _FilePartition(StatefulSourcePartition[Decoded, int]):
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

    def next_batch(self) -> list[Decoded]:
        if self._done:
            raise StopIteration
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
        )
        return [Decoded(ticks=batch, dead=dead, messages=len(rows), raw_offsets=rows)]

    def snapshot(self) -> int:
        return self._next


class TickFileSource(FixedPartitionedSource[Decoded, int]):
    """Replays `path` in chunks of `chunk` rows; `stop` (if set) ends the replay early."""

    def __init__(
        self,
        path: Path,
        *,
        symbol: str | None = None,
        chunk: int = 50_000,
        from_ts: int | None = None,
        to_ts: int | None = None,
        stop: threading.Event | None = None,
    ):
        self.path = path
        self.symbol = symbol
        self.chunk = chunk
        self.from_ts = from_ts
        self.to_ts = to_ts
        self.stop = stop

    def list_parts(self) -> list[str]:
        return [FILE_CHANNEL]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _FilePartition:
        ticks = read_ticks(self.path, self.symbol)
        if self.from_ts is not None or self.to_ts is not None:
            lo = self.from_ts if self.from_ts is not None else np.iinfo(np.int64).min
            hi = self.to_ts if self.to_ts is not None else np.iinfo(np.int64).max
            ticks = ticks.take((ticks.ts >= lo) & (ticks.ts < hi))
        return _FilePartition(ticks, str(self.path), resume_state or 0, self.chunk, self.stop)
