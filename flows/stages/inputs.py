"""The flow's inputs as Bytewax sources: thin adapters over the readers in `flows.sources`.

A source item is a whole batch (a Kafka poll of one partition, or a chunk of a file), never a
single tick: Bytewax's per-item cost is paid per batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING

from flows.sources.broker_watch import BrokerWatch
from flows.sources.decode import Decoded
from flows.sources.file import FILE_CHANNEL, FileChunks, open_tick_file
from flows.sources.kafka import PartitionReader, RawBatch, reader_config
from flows.sources.tick_file import FileFormat
from sinks.kafka.admin import topic_partitions


class _KafkaPartition(StatefulSourcePartition[RawBatch, int]):
    def __init__(self, reader: PartitionReader):
        self._reader = reader

    def next_batch(self) -> list[RawBatch]:
        if self._reader.done:
            raise StopIteration
        batch = self._reader.read()
        return [] if batch is None else [batch]

    def snapshot(self) -> int:
        return self._reader.offset

    def close(self) -> None:
        self._reader.close()


class BatchKafkaSource(FixedPartitionedSource[RawBatch, int]):
    """Every partition of one topic, read from `start_offsets` (default: the beginning).

    `bounded=True` stops each partition at its end (a backtest or the demo); otherwise the source
    tails the topic forever (live). Setting `stop` ends every partition as if it had reached its
    end (a cancelled backtest). `watch` (live) guards against a broker that lost its history
    and quiets one that is down (`flows.sources.broker_watch`). Partitions are listed when the
    flow starts, so the partition count must not change under a recovery store.
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
        watch: BrokerWatch | None = None,
    ):
        self.stop = stop
        self.watch = watch
        self.bootstrap = bootstrap
        self.topic = topic
        self.bounded = bounded
        self.start_offsets = list(start_offsets) if start_offsets is not None else None
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.config = dict(config or {})

    def list_parts(self) -> list[str]:
        return [f"{self.topic}:{p}" for p in range(topic_partitions(self.bootstrap, self.topic))]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _KafkaPartition:
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
        config = reader_config(self.bootstrap, self.bounded, self.config)
        reader = PartitionReader(
            config,
            topic,
            partition,
            offset,
            self.batch_size,
            self.poll_seconds,
            self.stop,
            self.watch,
        )
        return _KafkaPartition(reader)


class _FilePartition(StatefulSourcePartition[Decoded, int]):
    def __init__(self, chunks: FileChunks):
        self._chunks = chunks

    def next_batch(self) -> list[Decoded]:
        if self._chunks.done:
            raise StopIteration
        return [self._chunks.read()]

    def snapshot(self) -> int:
        return self._chunks.position


class TickFileSource(FixedPartitionedSource[Decoded, int]):
    """Replays `path` in chunks of `chunk` rows; `stop` (if set) ends the replay early."""

    def __init__(
        self,
        path: Path,
        *,
        form: FileFormat | None = None,
        chunk: int = 50_000,
        from_ts: int | None = None,
        to_ts: int | None = None,
        stop: threading.Event | None = None,
    ):
        self.path = path
        self.form = form or FileFormat()
        self.chunk = chunk
        self.from_ts = from_ts
        self.to_ts = to_ts
        self.stop = stop

    def list_parts(self) -> list[str]:
        return [FILE_CHANNEL]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _FilePartition:
        chunks = open_tick_file(
            self.path,
            self.form,
            self.from_ts,
            self.to_ts,
            resume_state or 0,
            self.chunk,
            self.stop,
        )
        return _FilePartition(chunks)
