"""The account stage's ordered merge of every input channel (DESIGN.md, 'Time, order and
determinism').

With several workers, batches from different channels reach an account shard in an order
that depends on thread timing. Each channel's own batches arrive in order (one sender, one
receiver, FIFO), and each carries a watermark: no later row of that channel has an earlier
event time. So rows earlier than the smallest watermark over all channels can never be
preceded by a row still to come; they are released, sorted by (ts, partition, offset), which
depends only on the data. A finished (bounded) channel's watermark is infinite.

A quiet channel holds the others back until its next heartbeat (the feed writes one to every
partition every `heartbeat_ms` of event time). There is deliberately no idle-channel timeout
here: releasing rows because a channel was silent for some processing time would make the
output depend on timing, unless the choice were recorded in the input and replayed, and a
marker in the input saying "nothing earlier than t is coming on this partition" is exactly a
heartbeat. The producer knows when a partition is idle, so the bound on the wait is its
heartbeat interval; the flow's own latency (flows.stages.arrivals) includes that wait.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flows.stages.market import MarketUpdate
from flows.trading.ticks import HEARTBEAT, Int64s, Segment, TickBatch, joined_column

FINISHED = np.iinfo(np.int64).max


@dataclass(slots=True)
class Merger:
    """Pending rows and watermarks per channel, for a fixed set of channels."""

    channels: tuple[str, ...]
    pending: dict[str, list[TickBatch]] = field(default_factory=dict)
    watermarks: dict[str, int] = field(default_factory=dict)
    symbols: list[str] = field(default_factory=list)
    symbol_index: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return all(self.watermarks.get(c) == FINISHED for c in self.channels)

    def horizon(self) -> int | None:
        """Rows strictly earlier than this are final; None until every channel has spoken."""
        if any(channel not in self.watermarks for channel in self.channels):
            return None
        return min(self.watermarks[channel] for channel in self.channels)


def new_merger(channels: list[str]) -> Merger:
    if len(set(channels)) != len(channels):
        raise ValueError("channels must be distinct")
    return Merger(tuple(channels))


def push(merger: Merger, update: MarketUpdate) -> Segment | None:
    """Queue a channel's update; return the rows it makes final, merged, or None."""
    channel = update.ticks.channel
    if channel not in merger.channels:
        raise ValueError(f"unexpected channel {channel!r}; expected one of {merger.channels}")
    if len(update.ticks):
        merger.pending.setdefault(channel, []).append(update.ticks)
    mark = FINISHED if update.watermark is None else update.watermark
    merger.watermarks[channel] = max(merger.watermarks.get(channel, mark), mark)
    horizon = merger.horizon()
    if horizon is None:
        return None
    return _release(merger, horizon)


def _release(merger: Merger, horizon: int) -> Segment | None:
    parts: list[TickBatch] = []
    for channel in merger.channels:
        queue = merger.pending.get(channel)
        while queue:
            head = queue[0]
            cut = len(head) if horizon == FINISHED else int(np.searchsorted(head.ts, horizon))
            if cut == len(head):
                parts.append(head)
                queue.pop(0)
                continue
            if cut:
                parts.append(head.take(slice(0, cut)))
                queue[0] = head.take(slice(cut, None))
            break
    if not parts:
        return None
    return _merge(merger, parts)


def _global_codes(merger: Merger, batch: TickBatch) -> np.ndarray:
    remap = np.empty(len(batch.symbols) + 1, dtype=np.int32)
    remap[-1] = HEARTBEAT
    for code, symbol in enumerate(batch.symbols):
        index = merger.symbol_index.get(symbol)
        if index is None:
            index = merger.symbol_index[symbol] = len(merger.symbols)
            merger.symbols.append(symbol)
        remap[code] = index
    result: np.ndarray = remap[batch.codes]
    return result


def _merge(merger: Merger, parts: list[TickBatch]) -> Segment:
    ts = np.concatenate([p.ts for p in parts])
    partition = np.concatenate([np.full(len(p), p.partition, dtype=np.int32) for p in parts])
    offsets = np.concatenate([p.offsets for p in parts])
    # One channel's rows usually arrive already in merge order: then nothing is reordered.
    order = (
        None if _in_merge_order(ts, partition, offsets) else np.lexsort((offsets, partition, ts))
    )
    codes = np.concatenate([_global_codes(merger, p) for p in parts])

    def arranged(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    def column(name: str) -> np.ndarray:
        return arranged(np.concatenate([getattr(p, name) for p in parts]))

    def sizes(name: str) -> Int64s | None:
        joined = joined_column(parts, name)
        return None if joined is None else arranged(joined)

    quote_only = None
    if any(p.quote_only is not None for p in parts):
        flags = [np.zeros(len(p), bool) if p.quote_only is None else p.quote_only for p in parts]
        quote_only = arranged(np.concatenate(flags))
    return Segment(
        ts=arranged(ts),
        codes=arranged(codes),
        symbols=tuple(merger.symbols),
        bid=column("bid"),
        ask=column("ask"),
        last=column("last"),
        volume=column("volume"),
        partition=arranged(partition),
        offsets=arranged(offsets),
        quote_only=quote_only,
        bid_size=sizes("bid_size"),
        ask_size=sizes("ask_size"),
    )


def _in_merge_order(ts: Int64s, partition: np.ndarray, offsets: Int64s) -> bool:
    """Whether the rows are already sorted by (ts, partition, offset): the (stable) sort would
    leave them where they are."""
    if len(ts) < 2:
        return True
    step = np.diff(ts)
    if (step < 0).any():
        return False
    tied = step == 0
    if not tied.any():
        return True
    partition_step = np.diff(partition)[tied]
    offset_step = np.diff(offsets)[tied]
    return bool(((partition_step > 0) | ((partition_step == 0) & (offset_step >= 0))).all())
