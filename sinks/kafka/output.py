"""The flow's Kafka output: messages that each name their topic, delivered in the background."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition
from confluent_kafka import KafkaException

from sinks.kafka.admin import producer
from sinks.metrics import FLOW_LATENCY


@dataclass(frozen=True)
class StampedMessage(KafkaSinkMessage[bytes | None, bytes]):
    """A decision's message with its tick's arrival at the flow's source (monotonic ns,
    flows.stages.arrivals). The stamp is not sent: only the latency to produce() is kept."""

    decision_id: str = ""
    arrived_ns: int = 0


class _OutputPartition(StatefulSinkPartition[KafkaSinkMessage[bytes | None, bytes], None]):
    """Produces without waiting: librdkafka delivers in the background, and the partition waits
    for every delivery only at the end of an epoch (before Bytewax's recovery snapshot) and at
    the end of the flow. Bytewax's own KafkaSink waits after every batch, which costs a broker
    round trip per batch on the path from a tick to its decision."""

    def __init__(
        self,
        bootstrap: str,
        config: dict[str, str | int],
        on_latency: Callable[[str, int], None] | None = None,
    ):
        self._producer = producer(bootstrap, **config)
        self._on_latency = on_latency

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
            if isinstance(message, StampedMessage):
                self._measured(message)
        self._producer.poll(0)

    def _measured(self, message: StampedMessage) -> None:
        taken = time.monotonic_ns() - message.arrived_ns
        FLOW_LATENCY.observe(taken / 1e9)
        if self._on_latency is not None:
            self._on_latency(message.decision_id, taken)

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

    def __init__(
        self,
        bootstrap: str,
        on_latency: Callable[[str, int], None] | None = None,
        **config: str | int,
    ):
        self.bootstrap = bootstrap
        self.config = config
        self.on_latency = on_latency

    def list_parts(self) -> list[str]:
        return ["kafka-output"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _OutputPartition:
        return _OutputPartition(self.bootstrap, self.config, self.on_latency)
