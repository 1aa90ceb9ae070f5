"""What the flow's Kafka readers do when the broker misbehaves.

- **History went backwards.** A broker restarted empty (the bundled one keeps topics in memory)
  serves partitions that no longer hold what the flow read. Left alone, a consumer resumes at
  its old offset in the new history and skips every message below it. So a reader checks that
  the message it read last is still there, unchanged (same offset, same Kafka timestamp): when
  it resumes from a recovered offset, after every broker outage, and when the broker says its
  offset is out of range (`auto.offset.reset=error` instead of librdkafka's silent jump). The
  partition's high watermark is not used: the bundled broker reports the base offset of the
  last batch there, not the end. On a loss, `on_history_loss` decides: `stop` (default) prints
  one line and ends the flow cleanly with exit status 3; `reset` prints it and reads the new
  history from its start.
- **Broker down.** librdkafka's repeated "Connection refused" lines are said once and then
  every `log_interval` seconds (`sinks.kafka.client_logs`); after `down_alert_seconds` without
  the broker one ALERT line says for how long.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from sinks.kafka.client_logs import client_log_config, kafka_logger

HistoryLoss = Literal["stop", "reset"]
HISTORY_LOST_STATUS = 3  # the exit status of a flow stopped by a loss of history

_DOWN_CODES = frozenset({KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE})


@dataclass(eq=False)
class BrokerWatch:
    """Shared by every reader of one flow: the policies, and what they have seen."""

    on_history_loss: HistoryLoss = "stop"
    down_alert_seconds: float = 60.0
    log_interval: float = 30.0
    stop: threading.Event | None = None
    history_lost: threading.Event = field(default_factory=threading.Event)
    outages: int = 0  # broker outages seen; a reader re-checks its history after each
    _down_since: float | None = None
    _alerted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def consumer_config(self) -> dict[str, object]:
        return {
            **client_log_config(self.log_interval),
            "error_cb": self.on_error,
            "auto.offset.reset": "error",
        }

    def on_error(self, error: KafkaError) -> None:
        """librdkafka's error callback: a broker-down error starts (or continues) the clock."""
        if error.code() not in _DOWN_CODES:
            kafka_logger(self.log_interval).warning("%s", error.str())
            return
        now = time.monotonic()  # wall-clock ok: how long the broker has been away
        with self._lock:
            if self._down_since is None:
                self._down_since = now
                self.outages += 1
            down_for = now - self._down_since
            alert = down_for >= self.down_alert_seconds and not self._alerted
            if alert:
                self._alerted = True
        kafka_logger(self.log_interval).warning("broker unreachable: %s", error.str())
        if alert:
            print(
                f"ALERT: the Kafka broker has been unreachable for {down_for:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def reachable(self) -> None:
        """A reader heard from the broker: the outage, if any, is over."""
        with self._lock:
            if self._alerted:  # the all-clear for the ALERT line
                print("the Kafka broker is reachable again", file=sys.stderr, flush=True)
            self._down_since = None
            self._alerted = False

    def history_went_backwards(self, channel: str, offset: int) -> bool:
        """Report it; True when the reader should go on from the start of the new history."""
        what = (
            f"{channel}: the broker's history went backwards: the flow is at offset {offset} "
            "but the broker no longer has the message before it (was it restarted empty?)"
        )
        if self.on_history_loss == "reset":
            print(f"{what}; reading the new history from its start", file=sys.stderr, flush=True)
            return True
        if not self.history_lost.is_set():
            self.history_lost.set()
            print(
                f"{what}; stopping. Set STRIKEFLOW_ON_HISTORY_LOSS=reset to read the new "
                "history from its start, or start afresh without the recovery store.",
                file=sys.stderr,
                flush=True,
            )
        if self.stop is not None:
            self.stop.set()
        return False


def probe_last_read(
    config: dict[str, str | int | bool],
    topic: str,
    partition: int,
    offset: int,
    last_ts: int | None,
    timeout: float = 10.0,
) -> bool | None:
    """Whether the message at `offset - 1` is still on the broker (with Kafka timestamp
    `last_ts`, when known): True, False, or None when the broker does not answer.

    A consumer of its own, so the reader's assignment and prefetched messages stay as they are.
    A real Kafka answers a fetch past the end with "offset out of range"; the bundled broker
    just waits, so once the broker has answered a metadata query, silence past the reported
    end counts as "not there". Below the reported end the message surely exists: silence then
    means a slow broker, not a lost history.
    """
    probe = Consumer({**config, **client_log_config(), "auto.offset.reset": "error"})
    wanted = TopicPartition(topic, partition, offset - 1)
    try:
        try:
            low, high = probe.get_watermark_offsets(wanted, timeout=5.0, cached=False)
        except KafkaException:
            return None
        if offset - 1 < low:
            return False
        probe.assign([wanted])
        for message in probe.consume(1, timeout):
            error = message.error()
            if error is None:
                same_time = last_ts is None or message.timestamp()[1] == last_ts
                return message.offset() == offset - 1 and same_time
            if error.code() == KafkaError._AUTO_OFFSET_RESET:
                return False
        return None if offset - 1 < high else False
    finally:
        probe.close()
