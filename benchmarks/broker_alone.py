"""What the flow's Kafka input costs without the flow: the broker alone (one confluent-kafka
consumer) and the flow's own source (with and without decoding) outside Bytewax. The ceilings
that benchmarks/flow_throughput.py compares the flow with."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

from flows.sources.decode import decode_ticks
from flows.stages.inputs import BatchKafkaSource
from sinks.kafka.admin import topic_partitions


def consume_all(bootstrap: str, topic: str, batch: int = 5000) -> tuple[int, float]:
    """One confluent-kafka consumer reads every partition of `topic` to its end."""
    partitions = topic_partitions(bootstrap, topic)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-broker-alone",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 5,
            "queued.min.messages": 100_000,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    done: set[int] = set()
    count = 0
    start = time.perf_counter()
    while len(done) < partitions:
        for message in consumer.consume(batch, 0.1):
            error = message.error()
            if error is None:
                count += 1
            elif error.code() == KafkaError._PARTITION_EOF:
                done.add(message.partition() or 0)
    seconds = time.perf_counter() - start
    consumer.close()
    return count, seconds


def source_alone(bootstrap: str, topic: str, decode: bool, batch_size: int) -> tuple[int, float]:
    """The flow's Kafka source (and decoding) over every partition, one after the other, with
    no Bytewax: the ceiling of one worker thread."""
    source = BatchKafkaSource(bootstrap, topic, bounded=True, batch_size=batch_size)
    count = 0
    start = time.perf_counter()
    for part in source.list_parts():
        partition = source.build_part("ticks", part, None)
        known: set[str] = set()
        try:
            while True:
                for raw in partition.next_batch():
                    count += len(raw.values)
                    if decode:
                        decode_ticks(raw, known)
        except StopIteration:
            pass
        finally:
            partition.close()
    return count, time.perf_counter() - start
