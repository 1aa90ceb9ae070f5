"""The micro-batches that travel between the flow's stages: columns of numpy arrays, not objects.

A batch keeps a small symbol table and int32 codes into it, so symbols cost four bytes a tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Self, TypeVar

import numpy as np
import numpy.typing as npt

HEARTBEAT = -1  # the code of a heartbeat row: it moves time forward and carries no quote

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_EMPTY_I64: Int64s = np.empty(0, dtype=np.int64)


def empty_i64() -> Int64s:
    return _EMPTY_I64.copy()


Quoted = TypeVar("Quoted", float, Floats)


def mid_price(bid: Quoted, ask: Quoted) -> Quoted:
    """The mid of a quote (or of columns of quotes): the price strategies and marks read."""
    return (bid + ask) * 0.5


@dataclass(slots=True)
class TickColumns:
    """Ticks as columns in time order: the one shape of market data in the flow.

    `codes` index `symbols` (HEARTBEAT marks a row that only moves time forward); `ts` are event
    times (UTC ms), prices are in quote currency, `volume` in shares. The simulator, a tick file,
    an input batch and the merged segment are all these columns, some with more beside them.

    `quote_only` marks rows that update the quote orders fill at but are not fed to strategies:
    the opens of a bar file replayed with `--fill next-open` (flows.sources.bar_opens). None,
    as everywhere else, means no such row.
    """

    ts: Int64s
    codes: npt.NDArray[np.integer[Any]]
    symbols: tuple[str, ...]
    bid: Floats
    ask: Floats
    last: Floats
    volume: Int64s
    # Keyword-only so that subclasses keep their positional fields after it.
    quote_only: Bools | None = field(default=None, kw_only=True)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def mid(self) -> Floats:
        return mid_price(self.bid, self.ask)

    def take(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> Self:
        """The chosen rows (a mask or indices) of every per-row column; the rest as it is."""
        n = len(self)
        chosen: dict[str, Any] = {
            item.name: value[rows]
            for item in fields(self)
            if isinstance(value := getattr(self, item.name), np.ndarray) and len(value) == n
        }
        return replace(self, **chosen)


@dataclass(slots=True)
class TickBatch(TickColumns):
    """Ticks (and heartbeats) of one input channel in source order.

    `ts` is the event time each row is processed at: the running maximum of the channel's event
    times, so it never goes backwards within a channel (see flows/stages/market.py); `raw_ts` is
    each tick's own time, `offsets` its position in the input.
    """

    channel: str
    partition: int
    offsets: Int64s
    raw_ts: Int64s
    eof: bool = False


@dataclass(slots=True)
class Segment(TickColumns):
    """Ticks of every channel merged into one deterministic order: (ts, partition, offset).

    `codes` index `symbols`, the shard's symbol table, which only ever grows.
    """

    partition: Int32s
    offsets: Int64s
