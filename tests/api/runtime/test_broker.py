"""The bundled Kafka-compatible broker: start, create topics, produce and consume, stop."""

from __future__ import annotations

import socket

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from api.runtime.broker import EmbeddedBroker
from schemas.settings import Topics
from sinks.kafka.admin import ensure_topics, producer, topic_partitions

pytestmark = pytest.mark.integration


def test_embedded_broker_starts_creates_topics_and_stops_cleanly() -> None:
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, Topics().partitions(4))
        assert topic_partitions(broker.bootstrap, "market.ticks") == 4
        assert topic_partitions(broker.bootstrap, "strikeflow.control") == 1
        port = broker.port
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the broker still listens after stop"


def test_ensure_topics_is_idempotent_and_keeps_partition_counts(
    kafka_bootstrap: str, topics: Topics
) -> None:
    ensure_topics(kafka_bootstrap, {topics.ticks: 4})
    ensure_topics(kafka_bootstrap, {topics.ticks: 8})
    assert topic_partitions(kafka_bootstrap, topics.ticks) == 4


def test_messages_round_trip_through_the_broker_in_partition_order(
    kafka_bootstrap: str, topics: Topics
) -> None:
    ensure_topics(kafka_bootstrap, {topics.ticks: 2})
    sending = producer(kafka_bootstrap)
    for i in range(1000):
        sending.produce(topics.ticks, key=b"AAPL" if i % 2 else b"MSFT", value=b"%d" % i)
    sending.flush(10)

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": "test",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topics.ticks, p, 0) for p in range(2)])
    received: dict[int, list[int]] = {0: [], 1: []}
    at_end: set[int] = set()
    while len(at_end) < 2:
        for message in consumer.consume(500, 0.5):
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
            elif error is None:
                received[message.partition()].append(int(message.value()))
    consumer.close()
    assert sorted(received[0] + received[1]) == list(range(1000))
    for values in received.values():
        assert values == sorted(values), "a partition delivered out of order"
