"""The accounts' merge of several channels is the same whatever order batches arrive in."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.stages.market import MarketUpdate
from flows.stages.merge import new_merger, push
from flows.trading.ticks import Segment, TickBatch

TS = 1_795_444_200_000
CHANNELS = ["t:0", "t:1", "t:2"]


def channel_stream(
    partition: int, times: list[int], cuts: list[int], finish: bool
) -> list[MarketUpdate]:
    """One channel's ticks (sorted times) cut into batches at `cuts`, with watermarks."""
    times = sorted(times)
    offsets = np.arange(len(times), dtype=np.int64)
    ts = np.array(times, dtype=np.int64)
    bounds = sorted({0, len(times), *(c % (len(times) + 1) for c in cuts)})
    updates = []
    for start, stop in itertools.pairwise(bounds):
        rows = np.arange(start, stop)
        batch = TickBatch(
            channel=f"t:{partition}",
            partition=partition,
            offsets=offsets[rows],
            ts=ts[rows],
            codes=np.full(len(rows), partition % 2, dtype=np.int32),
            symbols=("AAPL", "MSFT") if partition % 2 == 0 else ("MSFT", "AAPL"),
            bid=ts[rows] / 1e10,
            ask=ts[rows] / 1e10 + 0.01,
            last=ts[rows] / 1e10,
            volume=np.ones(len(rows), dtype=np.int64),
            raw_ts=ts[rows],
        )
        updates.append(MarketUpdate(batch, int(ts[stop - 1])))
    if finish:
        empty = TickBatch(
            channel=f"t:{partition}",
            partition=partition,
            offsets=offsets[:0],
            ts=ts[:0],
            codes=np.zeros(0, dtype=np.int32),
            symbols=(),
            bid=ts[:0] / 1.0,
            ask=ts[:0] / 1.0,
            last=ts[:0] / 1.0,
            volume=offsets[:0],
            raw_ts=ts[:0],
            eof=True,
        )
        updates.append(MarketUpdate(empty, None))
    return updates


def merged(order: list[int], streams: list[list[MarketUpdate]]) -> list[tuple[int, str, int, int]]:
    merger = new_merger(CHANNELS)
    queues = [list(stream) for stream in streams]
    rows: list[tuple[int, str, int, int]] = []
    for channel in order:
        if not queues[channel]:
            continue
        segment = push(merger, queues[channel].pop(0))
        if segment is not None:
            rows.extend(_rows(segment))
    for channel, queue in enumerate(queues):  # whatever the interleaving left over
        for update in queue:
            segment = push(merger, update)
            if segment is not None:
                rows.extend(_rows(segment))
        del channel
    return rows


def _rows(segment: Segment) -> list[tuple[int, str, int, int]]:
    return [
        (int(t), segment.symbols[int(c)], int(p), int(o))
        for t, c, p, o in zip(
            segment.ts, segment.codes, segment.partition, segment.offsets, strict=True
        )
    ]


times = st.lists(st.integers(min_value=TS, max_value=TS + 50), min_size=1, max_size=30)
cuts = st.lists(st.integers(min_value=0, max_value=40), max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(times, times, times),
    st.tuples(cuts, cuts, cuts),
    st.lists(st.integers(min_value=0, max_value=2), min_size=0, max_size=40),
    st.lists(st.integers(min_value=0, max_value=2), min_size=0, max_size=40),
)
def test_any_arrival_order_gives_the_same_merged_rows(
    channel_times: tuple[list[int], ...],
    channel_cuts: tuple[list[int], ...],
    first_order: list[int],
    second_order: list[int],
) -> None:
    streams = [channel_stream(p, channel_times[p], channel_cuts[p], finish=True) for p in range(3)]
    a = merged(first_order, streams)
    b = merged(second_order, streams)
    assert a == b
    assert a == sorted(a, key=lambda row: (row[0], row[2], row[3]))
    assert len(a) == sum(len(t) for t in channel_times)


def test_rows_wait_until_every_channel_has_passed_them() -> None:
    merger = new_merger(CHANNELS)
    streams = [channel_stream(p, [TS + p, TS + 10 + p], [1], finish=False) for p in range(3)]
    assert push(merger, streams[0][0]) is None  # channels 1 and 2 have not spoken
    assert push(merger, streams[1][0]) is None
    assert push(merger, streams[2][0]) is None  # horizon TS: nothing is earlier
    segment = push(merger, streams[0][1])  # channel 0 moves to TS + 10; horizon TS + 1
    assert segment is not None
    assert [int(t) for t in segment.ts] == [TS]


def test_a_finished_channel_no_longer_holds_the_others_back() -> None:
    merger = new_merger(["t:0", "t:1"])
    a = channel_stream(0, [TS, TS + 5], [], finish=True)
    b = channel_stream(1, [TS + 1, TS + 100], [], finish=False)
    push(merger, a[0])
    push(merger, a[1])
    segment = push(merger, b[0])
    assert segment is not None
    assert [int(t) for t in segment.ts] == [TS, TS + 1, TS + 5]  # TS + 100 awaits channel 1
