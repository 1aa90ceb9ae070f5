"""The micro-batches that travel between the flow's stages: columns of numpy arrays, not objects.

A batch keeps a small symbol table and int32 codes into it, so symbols cost four bytes a tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from schemas.trading import Alert, DeadLetter

HEARTBEAT = -1  # the code of a heartbeat row: it moves time forward and carries no quote

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]

_EMPTY_I64: Int64s = np.empty(0, dtype=np.int64)


def empty_i64() -> Int64s:
    return _EMPTY_I64.copy()


@dataclass(slots=True)
class TickBatch:
    """Ticks (and heartbeats) of one input channel in source order.

    `ts` is the event time each row is processed at: the running maximum of the channel's event
    times, so it never goes backwards within a channel (see flows/market.py).
    """

    channel: str
    partition: int
    offsets: Int64s
    ts: Int64s
    codes: Int32s
    symbols: tuple[str, ...]
    bid: Floats
    ask: Floats
    last: Floats
    volume: Int64s
    raw_ts: Int64s
    eof: bool = False

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def take(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> TickBatch:
        return TickBatch(
            channel=self.channel,
            partition=self.partition,
            offsets=self.offsets[mask],
            ts=self.ts[mask],
            codes=self.codes[mask],
            symbols=self.symbols,
            bid=self.bid[mask],
            ask=self.ask[mask],
            last=self.last[mask],
            volume=self.volume[mask],
            raw_ts=self.raw_ts[mask],
            eof=self.eof,
        )


@dataclass(slots=True)
class Decoded:
    """What decoding one raw batch gave: the usable rows and what went to the dead letters."""

    ticks: TickBatch
    dead: list[DeadLetter] = field(default_factory=list)
    messages: int = 0
    raw_offsets: Int64s = field(default_factory=empty_i64)  # every message's offset, in order


@dataclass(slots=True)
class MarketUpdate:
    """One channel's progress, fanned out to every account shard.

    `watermark` promises that no later row of this channel has an earlier event time; at the
    end of a bounded input it is `None`, meaning the channel is finished.
    """

    ticks: TickBatch
    watermark: int | None


@dataclass(slots=True)
class MarketOutput:
    """What the market stage produces for one batch."""

    update: MarketUpdate
    greeks: list[object] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


@dataclass(slots=True)
class Segment:
    """Ticks of every channel merged into one deterministic order: (ts, partition, offset).

    `codes` index `symbols`, the shard's symbol table, which only ever grows.
    """

    ts: Int64s
    codes: Int32s
    symbols: tuple[str, ...]
    bid: Floats
    ask: Floats
    last: Floats
    volume: Int64s
    partition: Int32s
    offsets: Int64s

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def mid(self) -> Floats:
        result: Floats = (self.bid + self.ask) * 0.5
        return result
