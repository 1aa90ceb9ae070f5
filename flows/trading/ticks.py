"""The micro-batches that travel between the flow's stages: columns of numpy arrays, not objects.

A batch keeps a small symbol table and int32 codes into it, so symbols cost four bytes a tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Self, TypeVar

import numpy as np
import numpy.typing as npt

HEARTBEAT = -1  # the code of a heartbeat row: it moves time forward and carries no quote
NO_SIZE = -1  # a row of a size column whose tick quoted no sizes (a price, not a quote)

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

    `bid_size` and `ask_size` are the quoted sizes (units at the bid and at the ask), NO_SIZE
    on a row whose tick quoted none; None when no row has sizes, so data without them (bars,
    trade prices, the default simulator) costs nothing. A tick quotes both sizes or neither.
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
    bid_size: Int64s | None = field(default=None, kw_only=True)
    ask_size: Int64s | None = field(default=None, kw_only=True)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def mid(self) -> Floats:
        return mid_price(self.bid, self.ask)

    @property
    def sized(self) -> bool:
        return self.bid_size is not None

    def take(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.intp] | slice) -> Self:
        """The chosen rows (a mask, indices or a slice) of every per-row column; the rest as it
        is. A slice's columns are views of these, not copies: neither is written in place."""
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


def joined_column(parts: Sequence[TickColumns], name: str) -> Int64s | None:
    """A size column (`bid_size` or `ask_size`) of `parts` end to end: NO_SIZE for the rows of
    a part without it, None if no part has it."""
    columns = [getattr(part, name) for part in parts]
    if all(column is None for column in columns):
        return None
    return np.concatenate(
        [
            np.full(len(part), NO_SIZE, dtype=np.int64) if column is None else column
            for part, column in zip(parts, columns, strict=True)
        ]
    )
