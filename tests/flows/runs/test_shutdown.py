"""Ctrl-C (SIGINT) and SIGTERM on `python -m bytewax.run flows.live:flow`: one line, a clean
stop, exit status 0; no Rust panic, no traceback. Real processes, real broker, real chdb."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemas.settings import Settings
from sinks.kafka.admin import ensure_topics, producer
from tests.flows_support import read_topic

pytestmark = pytest.mark.integration


def start_live_flow(settings: Settings, data_dir: Path, workers: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIKEFLOW_")}
    env["STRIKEFLOW_DATA_DIR"] = str(data_dir)
    env["STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers or ""
    for field in type(settings.topics).model_fields:
        env[f"STRIKEFLOW_TOPIC_{field.upper()}"] = getattr(settings.topics, field)
    return subprocess.Popen(
        [sys.executable, "-m", "bytewax.run", "flows.live:flow", "-w", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_reading(settings: Settings, flow: subprocess.Popen[str]) -> None:
    """A malformed tick comes back on the dead-letter topic once the flow reads its input
    (and so has its signal handlers in place)."""
    bootstrap = settings.kafka_bootstrap_servers or ""
    ensure_topics(bootstrap, settings.topics.partitions(settings.ticks_partitions))
    kafka = producer(bootstrap)
    kafka.produce(settings.topics.ticks, b"not a tick", b"BAD")
    kafka.flush(10)
    deadline = time.monotonic() + 120
    while not read_topic(bootstrap, settings.topics.deadletter, timeout=2):
        assert flow.poll() is None, flow.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the live flow never read its input"
        time.sleep(0.2)  # a read now takes milliseconds: do not hammer the broker


@pytest.mark.parametrize(
    ("sent", "workers"), [(signal.SIGINT, 1), (signal.SIGTERM, 2)], ids=["SIGINT", "SIGTERM"]
)
def test_a_signal_stops_the_live_flow_with_one_line_and_status_0(
    settings: Settings, tmp_path: Path, sent: signal.Signals, workers: int
) -> None:
    flow = start_live_flow(settings, tmp_path / "data", workers)
    try:
        wait_until_reading(settings, flow)
        flow.send_signal(sent)
        _, err = flow.communicate(timeout=120)
    finally:
        if flow.poll() is None:
            flow.kill()
    assert flow.returncode == 0, err[-3000:]
    assert err.strip().splitlines() == [f"live flow: {sent.name}, stopping cleanly"]
    assert "panicked" not in err
    assert "Traceback" not in err
