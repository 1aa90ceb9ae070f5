"""Live trading: the graph over `market.ticks`, tailing forever, with control commands.

Run it as Bytewax users expect:

    python -m bytewax.run flows.live:flow -w 2                      # 2 worker threads
    python -m bytewax.run flows.live:flow -w 2 -i 0 -a "h0:2101;h1:2101"   # process 0 of 2 (*)
    python -m bytewax.run flows.live:flow -r /recovery -s 30 -b 0   # crash-safe

`flow` is a function: Bytewax calls it, and only then are the settings read (STRIKEFLOW_*) and
the accounts loaded (the newest enabled version of each config in `algorithm_configs`). It needs
a Kafka cluster (STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS); `strikeflow demo` and `strikeflow serve`
run the same graph on the bundled broker.

(*) Every process of a cluster started by hand calls `flow()` and opens ClickHouse, so that
needs a ClickHouse server; on the embedded default `strikeflow serve --processes N` runs the
cluster with one process owning chdb (flows.runs.cluster).
"""

from __future__ import annotations

import os
import sys
import threading

from bytewax.dataflow import Dataflow

from flows.runs.shutdown import exit_with_status_if, stop_on_signals
from flows.sources.broker_watch import HISTORY_LOST_STATUS, BrokerWatch
from flows.stages.graph import FlowSpec, build_flow
from schemas.common import LIVE_RUN, TradingStatus
from schemas.config import AlgorithmConfig
from schemas.settings import Settings
from sinks.clickhouse.client import connect, migrate
from sinks.kafka.admin import ensure_topics
from sinks.store.configs import latest_configs
from sinks.store.states import trading_states


def live_spec(
    settings: Settings,
    bootstrap: str,
    configs: list[AlgorithmConfig],
    *,
    bounded: bool = False,
    initial_status: dict[str, TradingStatus] | None = None,
) -> FlowSpec:
    """The live graph's spec: run id 'live', control commands read from the beginning of
    the control topic (a fresh start replays the command history onto fresh state)."""
    return FlowSpec(
        run_id=LIVE_RUN,
        settings=settings,
        configs=configs,
        bootstrap=bootstrap,
        bounded=bounded,
        read_control=not bounded,
        initial_status=dict(initial_status or {}),
    )


def flow() -> Dataflow:
    settings = Settings()
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise SystemExit(
            "flows.runs.live needs a Kafka cluster: set STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS "
            "(or run `strikeflow demo` / `strikeflow serve`, which start the bundled broker)"
        )
    if settings.embedded_clickhouse and _started_as_cluster():
        raise SystemExit(
            "flows.runs.live: a cluster started by hand (-a/--addresses) needs a ClickHouse "
            "server (STRIKEFLOW_CLICKHOUSE_DSN=http://...): the embedded one opens in one "
            "process only; on it, use `strikeflow serve --processes N` or `strikeflow demo "
            "--processes N`"
        )
    ensure_topics(bootstrap, settings.topics.partitions(settings.ticks_partitions))
    configs, status = load_accounts(settings)
    spec = live_spec(settings, bootstrap, configs, initial_status=status)
    spec.stop = stop_on_signals("live flow")
    spec.watch = broker_watch(settings, spec.stop)
    exit_with_status_if(spec.watch.history_lost, HISTORY_LOST_STATUS)
    return build_flow(spec)


def _started_as_cluster() -> bool:
    """Whether `python -m bytewax.run` was given addresses: every process of the cluster then
    calls `flow()`, and each would open ClickHouse (flows.runs.cluster is the embedded way)."""
    if os.environ.get("BYTEWAX_ADDRESSES"):
        return True
    return any(arg in ("-a", "--addresses") or arg.startswith("--addresses=") for arg in sys.argv)


def broker_watch(settings: Settings, stop: threading.Event | None) -> BrokerWatch:
    """The live readers' guard against a broker that lost its history or went away."""
    return BrokerWatch(
        on_history_loss=settings.on_history_loss,
        down_alert_seconds=settings.broker_down_alert_seconds,
        log_interval=settings.broker_log_interval_seconds,
        stop=stop,
    )


def load_accounts(settings: Settings) -> tuple[list[AlgorithmConfig], dict[str, TradingStatus]]:
    """The newest enabled config of every account, and each account's last applied status
    (so that a restart without Bytewax recovery does not re-arm a stopped or halted account)."""
    client = connect(settings.dsn, settings.clickhouse_database)
    try:
        migrate(client)
        configs = latest_configs(client)
        status = {s.account_id: s.status for s in trading_states(client, LIVE_RUN)}
    finally:
        client.close()
    return configs, status
