"""The latency benchmark's helper processes: the paced feed, which notes when each tick was
produced, and the consumer, which notes when each decision arrived."""

from __future__ import annotations

import argparse
import array
import functools
import json
import signal
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

DAY = date(2026, 11, 23)


# --- the feed ---------------------------------------------------------------------------------


def latency_ticks(symbols: tuple[str, ...], rate: int, seconds: float) -> dict[str, Any]:
    """`rate * seconds` ticks, `rate` per second of event time, dealt round-robin over
    `symbols`, with simulated prices (each symbol's own path, in order)."""
    from flows.sim.simulator import SimParams, session_bounds, simulate_session

    total = int(rate * seconds)
    per_symbol = -(-total // len(symbols))
    sim, _ = simulate_session(list(symbols), DAY, SimParams(ticks_per_minute=per_symbol / 300))
    index = np.arange(total)
    codes = (index % len(symbols)).astype(np.int32)
    nth = index // len(symbols)  # the k-th tick of its symbol
    start = session_bounds(DAY, "America/New_York")[0] + 30 * 60_000  # 10:00 New York
    columns: dict[str, Any] = {
        "ts": start + (index * 1000) // rate,
        "codes": codes,
        "symbols": tuple(symbols),
    }
    for name in ("bid", "ask", "last", "volume"):
        values = getattr(sim, name)
        out = np.empty(total, dtype=values.dtype)
        for code in range(len(symbols)):
            own = values[sim.codes == code]
            if len(own) < per_symbol:
                raise RuntimeError("the simulated session is too short; lower the rate")
            mine = codes == code
            out[mine] = own[nth[mine]]
        columns[name] = out
    return columns


class RecordingProducer:
    """Stands in for confluent_kafka.Producer in TickWriter: notes when each message was
    handed to produce() and, from its delivery report, where it landed."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.partition = array.array("i")
        self.offset = array.array("q")
        self.produced_ns = array.array("q")
        self.acked_ns = array.array("q")  # when the delivery report was served (poll)

    def _delivered(self, produced_ns: int, error: Any, message: Any) -> None:
        if error is None and message.key() is not None:  # ticks only, not heartbeats
            self.partition.append(message.partition())
            self.offset.append(message.offset())
            self.produced_ns.append(produced_ns)
            self.acked_ns.append(time.monotonic_ns())

    def produce(self, topic: str, value: bytes, key: bytes | None = None, **kwargs: Any) -> None:
        now = time.monotonic_ns()
        self.inner.produce(
            topic, value, key, on_delivery=functools.partial(self._delivered, now), **kwargs
        )

    def poll(self, timeout: float) -> int:
        return int(self.inner.poll(timeout))

    def flush(self, timeout: float) -> int:
        return int(self.inner.flush(timeout))


def feed_main(args: argparse.Namespace) -> None:
    from flows.sim.feed import TickWriter
    from sinks.kafka.admin import producer

    symbols = tuple(args.symbols.split(","))
    ticks = latency_ticks(symbols, args.rate, args.warmup + args.duration)
    # linger.ms 0: the feed sends at once, so the latency is the flow's, not the feed's batching.
    recorder = RecordingProducer(producer(args.bootstrap, **{"linger.ms": args.linger_ms}))
    writer = TickWriter(
        recorder,  # type: ignore[arg-type]  # duck-typed: produce, poll, flush
        args.topic,
        args.partitions,
        heartbeat_ms=args.heartbeat_ms,
    )
    ts = ticks["ts"]
    starts = np.flatnonzero(np.diff(ts, prepend=ts[0] - 1))  # one slice per millisecond
    ends = [*starts[1:].tolist(), len(ts)]
    began = time.monotonic()
    cpu0 = time.process_time()
    first = int(ts[0])
    lag = array.array("d")
    for start, end in zip(starts.tolist(), ends, strict=True):
        due = began + (int(ts[start]) - first) / 1000
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            lag.append(now - due)
        part = slice(start, end)
        writer.write(
            ts[part],
            ticks["codes"][part],
            symbols,
            ticks["bid"][part],
            ticks["ask"][part],
            ticks["last"][part],
            ticks["volume"][part],
        )
        recorder.poll(0)
    finished = time.monotonic()
    cpu = (time.process_time() - cpu0) / (finished - began)
    writer.finish()
    np.savez(
        args.out,
        partition=np.frombuffer(recorder.partition, dtype=np.int32),
        offset=np.frombuffer(recorder.offset, dtype=np.int64),
        produced_ns=np.frombuffer(recorder.produced_ns, dtype=np.int64),
        acked_ns=np.frombuffer(recorder.acked_ns, dtype=np.int64),
        measure_from_ns=np.int64((began + args.warmup) * 1e9),
        seconds=np.float64(finished - began),
        cpu_per_wall=np.float64(cpu),
        ticks=np.int64(len(ts)),
        lag_p99_ms=np.float64(np.percentile(lag, 99) * 1e3 if len(lag) else 0.0),
    )


# --- the decisions consumer -------------------------------------------------------------------


def consume_main(args: argparse.Namespace) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "bench-latency",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,  # as the flow's own consumers; 1 ms swamps Tansu
            "fetch.min.bytes": 1,
        }
    )
    consumer.assign(
        [TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)]
    )
    consumer.poll(0.5)  # connected and fetching before the feed starts
    Path(args.ready).touch()
    cpu0, wall0 = time.process_time(), time.monotonic()
    arrived: list[tuple[int, Any]] = []
    while not stop.is_set():
        message = consumer.poll(0.05)
        if message is None or message.error() is not None:
            continue
        arrived.append((time.monotonic_ns(), message))
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    consumer.close()
    partition, offset, arrival = [], [], []
    for at, message in arrived:
        if args.ticks_only:  # the broker alone: the ticks themselves, not decisions
            if message.key() is None:
                continue  # a heartbeat
            partition.append(message.partition())
            offset.append(message.offset())
        else:
            decision_id = json.loads(message.value())["decision_id"]
            _, tick_partition, tick_offset, _leg = decision_id.rsplit(":", 3)
            partition.append(int(tick_partition))
            offset.append(int(tick_offset))
        arrival.append(at)
    np.savez(
        args.out,
        partition=np.array(partition, dtype=np.int32),
        offset=np.array(offset, dtype=np.int64),
        arrival_ns=np.array(arrival, dtype=np.int64),
        cpu_per_wall=np.float64(cpu),
    )
