"""The live flow when its broker misbehaves, against a private broker (Tansu) this test starts,
stops and restarts empty on the same port: the flow notices that the history it read is gone
and stops with one line (exit status 3), or with `STRIKEFLOW_ON_HISTORY_LOSS=reset` reads the
new history from its start; while the broker is down, librdkafka's "Connection refused" lines
are said once then held back, and an ALERT line comes after the configured time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.runtime.broker import EmbeddedBroker, free_port
from schemas.settings import Settings, Topics
from sinks.kafka.admin import producer
from tests.flows_support import feed_session, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.long(70)]

OUTAGE_SECONDS = 8


def start_flow(settings: Settings, policy: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIKEFLOW_")}
    env.update(
        STRIKEFLOW_DATA_DIR=str(settings.data_dir),
        STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers or "",
        STRIKEFLOW_BROKER_DOWN_ALERT_SECONDS="3",
        STRIKEFLOW_ON_HISTORY_LOSS=policy,
    )
    for field in Topics.model_fields:
        env[f"STRIKEFLOW_TOPIC_{field.upper()}"] = getattr(settings.topics, field)
    return subprocess.Popen(
        [sys.executable, "-m", "bytewax.run", "flows.live:flow"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_dead_letters(settings: Settings, flow: subprocess.Popen[str], count: int) -> None:
    bootstrap = settings.kafka_bootstrap_servers or ""
    deadline = time.monotonic() + 120
    while len(read_topic(bootstrap, settings.topics.deadletter, timeout=2)) < count:
        assert flow.poll() is None, flow.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the flow did not dead-letter the bad tick"
        time.sleep(0.2)  # a read now takes milliseconds: do not hammer the broker


@pytest.mark.parametrize("policy", ["stop", "reset"])
def test_a_broker_restarted_empty_is_noticed_and_handled_by_the_setting(
    tmp_path: Path, policy: str
) -> None:
    port = free_port()
    topics = Topics(**{name: f"{name}.trouble" for name in Topics.model_fields})
    broker = EmbeddedBroker(port=port)
    settings = Settings(
        data_dir=tmp_path, kafka_bootstrap_servers=f"127.0.0.1:{port}", topics=topics
    )
    broker.start()
    flow = None
    try:
        feed_session(settings, ["AAPL"], ticks_per_minute=1, extra=[b"bad before"])
        flow = start_flow(settings, policy)
        wait_for_dead_letters(settings, flow, 1)  # the flow has read up to the end

        broker.stop()
        time.sleep(OUTAGE_SECONDS)
        broker = EmbeddedBroker(port=port)
        broker.start(topics.partitions(settings.ticks_partitions))
        kafka = producer(broker.bootstrap)
        kafka.produce(topics.ticks, b"bad after", b"BAD", partition=0)  # offset 0: below the old
        kafka.flush(10)
        # The broker's stop waits up to 5 s for connected clients to leave: this one goes now.
        del kafka
        if policy == "reset":
            wait_for_dead_letters(settings, flow, 1)  # read from the new history's start
            flow.send_signal(signal.SIGTERM)
        _, err = flow.communicate(timeout=180)
    finally:
        if flow is not None and flow.poll() is None:
            flow.kill()
        broker.stop()

    assert "the broker's history went backwards" in err, err[-3000:]
    assert "ALERT: the Kafka broker has been unreachable for" in err
    assert "Traceback" not in err
    assert "panicked" not in err
    # Before: librdkafka printed about 90 of these a second for the whole outage.
    assert err.count("Connection refused") < 3 * OUTAGE_SECONDS, err[-3000:]
    if policy == "stop":
        assert flow.returncode == 3
        assert "; stopping. Set STRIKEFLOW_ON_HISTORY_LOSS=reset" in err
    else:
        assert flow.returncode == 0, err[-3000:]
        assert "reading the new history from its start" in err
