"""A Kafka source for Bytewax that emits one item per poll: the micro-batch of DESIGN.md.

Bytewax's own KafkaSource emits every message as an item, which costs microseconds per tick in
the runtime. This source hands the flow a whole poll batch of one partition at once; decoding
and everything after it are numpy over the batch. Resume state is the next offset to read.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from sinks.kafka import topic_partitions


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


class _Partition(StatefulSourcePartition[RawBatch, int]):
    def __init__(
        self,
        config: dict[str, str | int | bool],
        topic: str,
        partition: int,
        offset: int,
        batch_size: int,
        poll_seconds: float,
        stop: threading.Event | None,
    ):
        self._stop = stop
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._bounded = bool(config.get("enable.partition.eof"))
        self._done = False
        self._consumer = Consumer(config)
        self._consumer.assign([TopicPartition(topic, partition, offset)])

    def next_batch(self) -> list[RawBatch]:
        if self._done:
            raise StopIteration
        if self._stop is not None and self._stop.is_set():
            self._done = True
            return [RawBatch(self._topic, self._partition, eof=True)]
        messages = self._consumer.consume(self._batch_size, self._poll_seconds)
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
            self._offset = last + 1
            batch = RawBatch(
                self._topic,
                self._partition,
                offsets,
                values=[m.value() for m in messages],
                eof=self._done,
                messages=messages,
            )
            return [batch]
        if self._done:
            return [RawBatch(self._topic, self._partition, eof=True)]
        return []

    def _without_errors(self, messages: list[Message]) -> list[Message]:
        """The messages before the end of the partition, without transient errors."""
        kept = []
        for message in messages:
            error = message.error()
            if error is None:
                kept.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                self._done = True
                break
            elif error.fatal():
                raise RuntimeError(f"consuming {self._topic}[{self._partition}]: {error}")
            # other errors are transient: librdkafka retries them by itself
        return kept

    def snapshot(self) -> int:
        return self._offset

    def close(self) -> None:
        self._consumer.close()


class BatchKafkaSource(FixedPartitionedSource[RawBatch, int]):
    """Every partition of one topic, read from `start_offsets` (default: the beginning).

    `bounded=True` stops each partition at its end (a backtest or the demo); otherwise the source
    tails the topic forever (live). Setting `stop` ends every partition as if it had reached its
    end (a cancelled backtest). Partitions are listed when the flow starts, so the partition
    count must not change under a recovery store.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        bounded: bool = False,
        start_offsets: Sequence[int] | None = None,
        batch_size: int = 5000,
        poll_seconds: float = 0.001,
        config: dict[str, str | int | bool] | None = None,
        stop: threading.Event | None = None,
    ):
        self.stop = stop
        self.bootstrap = bootstrap
        self.topic = topic
        self.bounded = bounded
        self.start_offsets = list(start_offsets) if start_offsets is not None else None
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.config = dict(config or {})

    def list_parts(self) -> list[str]:
        return [f"{self.topic}:{p}" for p in range(topic_partitions(self.bootstrap, self.topic))]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _Partition:
        topic, _, index = for_part.rpartition(":")
        if topic != self.topic:
            raise RuntimeError(f"recovery state is for topic {topic!r}, not {self.topic!r}")
        partition = int(index)
        if resume_state is not None:
            offset = resume_state
        elif self.start_offsets is not None:
            offset = self.start_offsets[partition]
        else:
            offset = OFFSET_BEGINNING
        config: dict[str, str | int | bool] = {
            "bootstrap.servers": self.bootstrap,
            "group.id": "strikeflow-unused",  # offsets live in Bytewax's recovery store
            "enable.auto.commit": False,
            "enable.partition.eof": self.bounded,
            "fetch.wait.max.ms": 5,
            "queued.min.messages": 100_000,
        }
        config.update(self.config)
        return _Partition(
            config, topic, partition, offset, self.batch_size, self.poll_seconds, self.stop
        )


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
