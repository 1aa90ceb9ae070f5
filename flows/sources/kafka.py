"""Reading Kafka partitions in poll batches: the micro-batch of DESIGN.md.

Bytewax's own KafkaSource emits every message as an item, which costs microseconds per tick in
the runtime. A `PartitionReader` hands over a whole poll batch of one partition at once;
decoding and everything after it are numpy over the batch. Its offset is the resume state.
The Bytewax adapter is `flows.stages.inputs.BatchKafkaSource`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from flows.sources.broker_watch import BrokerWatch, probe_last_read
from sinks.kafka.admin import topic_partitions
from sinks.metrics import CONSUMER_LAG

LAG_EVERY_SECONDS = 1.0  # how often a reader publishes its lag


@dataclass(frozen=True, slots=True)
class RawBatch:
    """Messages of one topic partition, in offset order. `eof` marks the end of a bounded read.

    Keys and Kafka timestamps matter only for dead letters, so a batch read from Kafka keeps
    the messages and reads them on demand (`key`, `timestamp`) instead of copying them out.
    """

    topic: str
    partition: int
    offsets: Sequence[int] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    values: list[bytes | None] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    eof: bool = False
    messages: list[Message] | None = field(default=None, repr=False, compare=False)
    # time.monotonic_ns() when the poll returned: processing time, for the flow's own latency
    # (flows.stages.arrivals); it never enters a row or a message.
    arrived_ns: int = field(default=0, compare=False)

    @property
    def channel(self) -> str:
        return f"{self.topic}:{self.partition}"

    def key(self, i: int) -> bytes | None:
        if self.messages is not None:
            return self.messages[i].key()
        return self.keys[i]

    def timestamp(self, i: int) -> int:
        if self.messages is not None:
            return self.messages[i].timestamp()[1]
        return self.timestamps[i]


class PartitionReader:
    """Reads one topic partition in batches from `offset` on; `done` once a bounded read (or a
    stop) reached its end. Plain Kafka I/O: the flow's input stage adapts it to Bytewax."""

    def __init__(
        self,
        config: dict[str, str | int | bool],
        topic: str,
        partition: int,
        offset: int,
        batch_size: int,
        poll_seconds: float,
        stop: threading.Event | None,
        watch: BrokerWatch | None = None,
    ):
        self._stop = stop
        self._topic = topic
        self._partition = partition
        self.offset = offset  # the next offset to read: the resume state
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self.done = False
        self._watch = watch
        self._config = config
        self._consumer = Consumer({**config, **(watch.consumer_config() if watch else {})})
        self._consumer.assign([TopicPartition(topic, partition, offset)])
        self._lag = CONSUMER_LAG.labels(topic, str(partition))
        self._lag_at = 0.0
        self._last_ts: int | None = None  # Kafka timestamp of the last message read
        self._outages = 0  # the watch's outage count this reader has checked after
        if watch is not None and offset > 0:
            self._check_history()  # resumed: is the message before `offset` still there?

    def _check_history(self) -> bool:
        """Whether the broker still has the message this reader read last (unchanged); on a loss
        of history, act on the watch's policy (`flows.sources.broker_watch`). False also when
        the broker cannot answer: the check is repeated later."""
        assert self._watch is not None
        verdict = probe_last_read(
            self._config, self._topic, self._partition, self.offset, self._last_ts
        )
        if verdict is None:
            return False
        self._watch.reachable()
        if verdict:
            return True
        channel = f"{self._topic}[{self._partition}]"
        if self._watch.history_went_backwards(channel, self.offset):
            self._last_ts = None
            self.offset = OFFSET_BEGINNING
            self._consumer.assign([TopicPartition(self._topic, self._partition, OFFSET_BEGINNING)])
        elif self._watch.stop is None:
            raise RuntimeError(f"{channel}: the broker's history went backwards; stopping")
        else:
            self.done = True
        return True

    def read(self) -> RawBatch | None:
        """The next batch, an empty end-of-partition batch, or None when nothing arrived."""
        if self._stop is not None and self._stop.is_set():
            self.done = True
            return RawBatch(self._topic, self._partition, eof=True)
        if self._watch is not None and self._watch.outages != self._outages and self.offset > 0:
            # The broker was away: it may have come back without the history read so far.
            if not self._check_history():
                return None
            self._outages = self._watch.outages
            if self.done:
                return RawBatch(self._topic, self._partition, eof=True)
        messages = self._consumer.consume(self._batch_size, self._poll_seconds)
        arrived_ns = time.monotonic_ns()
        if (now := time.monotonic()) >= self._lag_at:
            self._lag_at = now + LAG_EVERY_SECONDS
            self._publish_lag(len(messages))
        if any(message.error() is not None for message in messages):
            messages = self._without_errors(messages)
        if messages:
            # This runs for every message the flow reads: copy out only the values, and the
            # offsets as a range when they are contiguous (they are, but on compacted topics).
            first: int = messages[0].offset()  # type: ignore[assignment]
            last: int = messages[-1].offset()  # type: ignore[assignment]
            offsets: Sequence[int] = (
                range(first, last + 1)
                if last - first + 1 == len(messages)
                else [m.offset() for m in messages]  # type: ignore[misc]
            )
            self.offset = last + 1
            self._last_ts = messages[-1].timestamp()[1]
            return RawBatch(
                self._topic,
                self._partition,
                offsets,
                values=[m.value() for m in messages],
                eof=self.done,
                messages=messages,
                arrived_ns=arrived_ns,
            )
        if self.done:
            return RawBatch(self._topic, self._partition, eof=True)
        return None

    def _publish_lag(self, batch: int) -> None:
        """The partition's high watermark (as the last fetch saw it: no broker round trip) minus
        the next offset to read once this batch is read."""
        _, high = self._consumer.get_watermark_offsets(
            TopicPartition(self._topic, self._partition), cached=True
        )
        if high >= 0:
            self._lag.set(max(high - self.offset - batch, 0))

    def _without_errors(self, messages: list[Message]) -> list[Message]:
        """The messages before the end of the partition, without transient errors."""
        kept = []
        for message in messages:
            error = message.error()
            if error is None:
                kept.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                self.done = True
                break
            elif error.code() == KafkaError._AUTO_OFFSET_RESET and self._watch is not None:
                self._check_history()  # the offset is out of range: where librdkafka would jump
                break
            elif error.fatal():
                raise RuntimeError(f"consuming {self._topic}[{self._partition}]: {error}")
            # other errors are transient: librdkafka retries them by itself
        return kept

    def close(self) -> None:
        self._consumer.close()


def reader_config(
    bootstrap: str, bounded: bool, extra: dict[str, str | int | bool] | None = None
) -> dict[str, str | int | bool]:
    """The consumer settings of a partition reader: no group offsets (the flow's recovery store
    keeps them), and an end-of-partition event when the read is bounded."""
    config: dict[str, str | int | bool] = {
        "bootstrap.servers": bootstrap,
        "group.id": "strikeflow-unused",  # offsets live in Bytewax's recovery store
        "enable.auto.commit": False,
        "enable.partition.eof": bounded,
        "fetch.wait.max.ms": 5,
        "queued.min.messages": 100_000,
    }
    config.update(extra or {})
    return config


def offsets_for_time(bootstrap: str, topic: str, ts_ms: int) -> list[int]:
    """Per partition, an offset at or before the first message with a timestamp ≥ `ts_ms`.

    Brokers that do not implement the time index (the bundled one answers 0) give a lower bound;
    the flow filters by event time anyway, so an early start costs reading time, never results.
    """
    partitions = topic_partitions(bootstrap, topic)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strikeflow-offsets"})
    try:
        found = consumer.offsets_for_times(
            [TopicPartition(topic, p, ts_ms) for p in range(partitions)], timeout=10
        )
        offsets = []
        for entry in sorted(found, key=lambda tp: tp.partition):
            if entry.offset >= 0:
                offsets.append(entry.offset)
            else:  # no message at or after ts_ms: start at the end
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, entry.partition), timeout=10
                )
                offsets.append(high)
        return offsets
    finally:
        consumer.close()
