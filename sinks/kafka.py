"""Kafka plumbing shared by the feed, the flow's outputs, the API and the tests."""

from __future__ import annotations

import time
from collections.abc import Mapping

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]


def admin(bootstrap: str, **config: str | int) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **config})


def producer(bootstrap: str, **config: str | int) -> Producer:
    """A producer tuned for throughput; keys keep per-key order within a partition."""
    settings: dict[str, str | int] = {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 1_000_000,
        "enable.idempotence": False,
    }
    settings.update(config)
    return Producer(settings)


def topic_partitions(bootstrap: str, topic: str, timeout: float = 10.0) -> int:
    """The partition count of `topic`; raises if it does not exist."""
    metadata = admin(bootstrap).list_topics(topic=topic, timeout=timeout)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        raise KafkaException(f"topic {topic!r} does not exist on {bootstrap}")
    return len(found.partitions)


def ensure_topics(bootstrap: str, partitions: Mapping[str, int], timeout: float = 20.0) -> None:
    """Create the topics that do not exist yet with the given partition counts.

    Existing topics keep their partition count: changing it would reshuffle keys between
    partitions and break Bytewax recovery, so that stays an operator's deliberate act.
    """
    client = admin(bootstrap)
    existing = set(client.list_topics(timeout=timeout).topics)
    missing = [
        NewTopic(topic, num_partitions=count, replication_factor=1)
        for topic, count in partitions.items()
        if topic not in existing
    ]
    if missing:
        for topic, future in client.create_topics(missing, operation_timeout=timeout).items():
            try:
                future.result()
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise KafkaException(f"could not create topic {topic!r}: {exc}") from exc
    _wait_for_topics(bootstrap, list(partitions), timeout)


def _wait_for_topics(bootstrap: str, topics: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client = admin(bootstrap)
    while True:
        known = client.list_topics(timeout=timeout).topics
        if all(topic in known and known[topic].partitions for topic in topics):
            return
        if time.monotonic() > deadline:
            missing = [topic for topic in topics if topic not in known]
            raise KafkaException(f"topics {missing} did not appear on {bootstrap}")
        time.sleep(0.05)


class _OutputPartition(StatefulSinkPartition[KafkaSinkMessage[bytes | None, bytes], None]):
    """Produces without waiting: librdkafka delivers in the background, and the partition waits
    for every delivery only at the end of an epoch (before Bytewax's recovery snapshot) and at
    the end of the flow. Bytewax's own KafkaSink waits after every batch, which costs a broker
    round trip per batch on the path from a tick to its decision."""

    def __init__(self, bootstrap: str, config: dict[str, str | int]):
        self._producer = producer(bootstrap, **config)

    def write_batch(self, items: list[KafkaSinkMessage[bytes | None, bytes]]) -> None:
        for message in items:
            if message.topic is None:
                raise ValueError(f"an output message names no topic: {message}")
            while True:
                try:
                    self._producer.produce(message.topic, message.value, message.key)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    self._producer.poll(0.05)
        self._producer.poll(0)

    def _flush(self) -> None:
        remaining = self._producer.flush(60)
        if remaining:
            raise KafkaException(f"{remaining} output messages were not delivered")

    def snapshot(self) -> None:
        self._flush()

    def close(self) -> None:
        self._flush()


class KafkaOutput(FixedPartitionedSink[KafkaSinkMessage[bytes | None, bytes], None]):
    """Output messages (keyed items, each message naming its topic) to Kafka."""

    def __init__(self, bootstrap: str, **config: str | int):
        self.bootstrap = bootstrap
        self.config = config

    def list_parts(self) -> list[str]:
        return ["kafka-output"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _OutputPartition:
        return _OutputPartition(self.bootstrap, self.config)
