"""Kafka plumbing shared by the feed, the flow's outputs, the API and the tests: clients and
topics."""

from __future__ import annotations

import time
from collections.abc import Mapping

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from sinks.kafka.client_logs import client_log_config


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
    # librdkafka's repeated lines (a broker that is down) said once, then periodically.
    return Producer({**settings, **client_log_config()})


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
