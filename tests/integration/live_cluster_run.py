"""The bounded live flow over topics already filled, in this process and `PROCESSES - 1` more:
`python -m tests.integration.live_cluster_run DATA_DIR PROCESSES WORKERS` prints the run's
fingerprint, every table (run 'live'), the flow's own latency of each decision this
process produced to Kafka, and the flow's Prometheus counters as this process serves them
(with `PROCESSES` > 1, added up over the processes), as JSON.

The broker and the topics come from the environment (STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS,
STRIKEFLOW_TOPIC_*); ClickHouse is a fresh chdb under DATA_DIR, opened by this process only.
tests/integration/test_processes.py runs it with 1 and 2 processes and 1 and 2 workers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from prometheus_client import REGISTRY

from flows.runs.cluster import run_flow
from flows.runs.demo import demo_configs
from flows.runs.live import live_spec
from schemas.common import LIVE_RUN
from schemas.settings import Settings
from sinks.clickhouse.client import connect, migrate
from sinks.store.fingerprint import run_fingerprint
from tests.flows_support import table_rows

COUNTERS = ("strikeflow_ticks_in_total", "strikeflow_decisions_total", "strikeflow_fills_total")


def counters() -> dict[str, int]:
    """The flow's counters in this process's default registry, by sample name and labels."""
    return {
        f"{sample.name}{sorted(sample.labels.items())}": int(sample.value)  # whole counts
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name in COUNTERS
    }


if __name__ == "__main__":
    data_dir = Path(sys.argv[1])
    processes, workers = int(sys.argv[2]), int(sys.argv[3])
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, clickhouse_dsn=f"chdb://{data_dir / 'clickhouse'}")
    assert settings.kafka_bootstrap_servers, "needs STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS"
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    spec = live_spec(settings, settings.kafka_bootstrap_servers, demo_configs(), bounded=True)
    measured: list[int] = []  # the flow's own latency (ns) of decisions produced here
    spec.flow_latency = lambda _decision, taken: measured.append(taken)
    run_flow(spec, workers=workers, processes=processes)
    tables = {
        name: [repr(row) for row in rows] for name, rows in table_rows(client, LIVE_RUN).items()
    }
    fingerprint = run_fingerprint(client, LIVE_RUN)
    result = {"fingerprint": fingerprint, "tables": tables, "measured": measured}
    print(json.dumps({**result, "counters": counters()}))
    client.close()
