"""A bounded live flow for `python -m bytewax.run tests.flow_main:flow`, configured by the
environment: STRIKEFLOW_* settings, STRIKEFLOW_TEST_CONFIGS (a JSON file of algorithm configs)
and, to crash on purpose, STRIKEFLOW_TEST_KILL_AFTER (pause after that many batches so that
an epoch is snapshotted, then SIGKILL itself three batches later).
Used by the crash-recovery test, which needs a process it can kill."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from bytewax.dataflow import Dataflow
from pydantic import TypeAdapter

from flows.runs.live import live_spec
from flows.stages.graph import build_flow
from schemas.config import AlgorithmConfig
from schemas.settings import Settings
from sinks.clickhouse.client import connect, migrate


def flow() -> Dataflow:
    settings = Settings()
    assert settings.kafka_bootstrap_servers is not None
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    client.close()
    configs = TypeAdapter(list[AlgorithmConfig]).validate_json(
        Path(os.environ["STRIKEFLOW_TEST_CONFIGS"]).read_bytes()
    )
    spec = live_spec(settings, settings.kafka_bootstrap_servers, configs, bounded=True)
    kill_after = int(os.environ.get("STRIKEFLOW_TEST_KILL_AFTER", "0"))
    if kill_after:
        seen = [0]

        def count(_messages: int) -> None:
            # Pause once so that an epoch (`-s 1`) closes and is snapshotted mid-run, then
            # die a few batches later without any chance to clean up.
            seen[0] += 1
            if seen[0] == kill_after:
                time.sleep(1.5)
            if seen[0] >= kill_after + 3:
                os.kill(os.getpid(), signal.SIGKILL)

        spec.progress = count
    return build_flow(spec)
