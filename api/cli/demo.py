"""`strikeflow demo`: the main job on the embedded default.

It simulates a session, trades it live through the flow, and summarises the run from
ClickHouse. The flow (Bytewax, numpy) and ClickHouse are imported in `run_demo`, when the demo
runs, so that `strikeflow --help` does not load them.
"""

from __future__ import annotations

import gc
import json
from typing import Annotated, Any

import typer
from rich.console import Console

from api.cli.common import console
from api.cli.summary import print_summary, run_summary
from api.runtime.broker import kafka_cluster
from flows.runs.demo import SESSION_DAY, SYMBOLS, TICKS_PER_MINUTE, demo_configs
from schemas.common import LIVE_RUN
from schemas.settings import Settings


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    days: Annotated[int, typer.Option(min=1, max=20, help="Sessions to simulate.")] = 1,
    workers: Annotated[int, typer.Option(min=1, max=8, help="Worker threads per process.")] = 2,
    processes: Annotated[
        int, typer.Option(min=1, max=8, help="Processes of the flow (both cores: 2).")
    ] = 1,
) -> None:
    """The main job on the embedded default: simulate a session, trade it live, summarise."""
    settings = Settings()
    summary = run_demo(settings, days, workers, processes)
    if as_json:
        print(json.dumps(summary))
        return
    print_summary(Console(), summary, f"demo session {SESSION_DAY}")
    console.print(f"report: {summary['report']}; data: {settings.dsn}")


def run_demo(settings: Settings, days: int, workers: int, processes: int = 1) -> dict[str, Any]:
    """Trade `days` simulated sessions of the demo accounts live; the run's summary (JSON).
    With `processes` > 1 the flow runs as a cluster whose first process is this one, the only
    one that opens ClickHouse (flows.runs.cluster)."""
    # Deferred: the flow and ClickHouse would slow `strikeflow --help` (module docstring).
    from flows.runs.cluster import ClusterError, describe, run_flow, warm_up
    from flows.runs.live import live_spec
    from flows.runs.report import write_report
    from flows.runs.results import account_results
    from flows.runs.shutdown import stop_on_signals
    from flows.sim.feed import MARKET_CHAINS, feed_writer, simulated_sessions
    from flows.sim.simulator import SimParams
    from sinks.clickhouse.client import connect, migrate
    from sinks.store.fingerprint import run_fingerprint
    from sinks.store.rows import insert
    from sinks.store.summary import run_counts

    warm_up(processes)  # the other processes start while the session is simulated
    configs = demo_configs()
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    insert(client, list(configs))
    with kafka_cluster(settings) as bootstrap:
        console.print(f"broker {bootstrap}; ClickHouse {settings.dsn}")
        chains = MARKET_CHAINS if settings.option_quotes else None
        writer = feed_writer(bootstrap, settings, chains=chains)
        params = SimParams(ticks_per_minute=TICKS_PER_MINUTE)
        for ticks in simulated_sessions(SYMBOLS, SESSION_DAY, days, params):
            writer.write_ticks(ticks)
        stats = writer.finish()
        del writer  # its producer must go before the broker does
        console.print(
            f"simulated {stats.ticks:,} ticks of {', '.join(SYMBOLS)}; trading them live "
            f"in {describe(processes, workers)}"
        )
        spec = live_spec(settings, bootstrap, configs, bounded=True)
        spec.stop = stop_on_signals("demo")  # Ctrl-C: the flow ends, the summary still prints
        try:
            run_flow(spec, workers=workers, processes=processes)
        except ClusterError as error:
            console.print(f"demo failed: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        gc.collect()  # the flow's Kafka clients, before the broker stops
    counts = run_counts(client, LIVE_RUN)
    results = account_results(client, LIVE_RUN, configs)
    summary = run_summary(LIVE_RUN, counts, configs, results)
    summary["fingerprint"] = run_fingerprint(client, LIVE_RUN)
    report = write_report(
        settings.data_dir / "reports", "demo", results, f"simulated {SESSION_DAY}"
    )
    summary["report"] = str(report)
    client.close()
    return summary


def register(app: typer.Typer) -> None:
    """Add `demo` as a top-level command of the `strikeflow` CLI."""
    app.command("demo")(demo)
