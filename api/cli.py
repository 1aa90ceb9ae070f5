"""The `strikeflow` command line."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from schemas.settings import Settings

app = typer.Typer(no_args_is_help=True, help="strikeflow: streaming paper trading for options.")
db_app = typer.Typer(no_args_is_help=True, help="The ClickHouse database.")
schemas_app = typer.Typer(no_args_is_help=True, help="The data contracts.")
app.add_typer(db_app, name="db")
app.add_typer(schemas_app, name="schemas")

console = Console(stderr=True)  # stdout stays clean for --json output


@db_app.command("migrate")
def db_migrate() -> None:
    """Create the database and apply the migrations it does not have yet (idempotent)."""
    from schemas.db import connect, migrate

    settings = Settings()
    client = connect(settings.dsn, settings.clickhouse_database)
    try:
        applied = migrate(client)
    finally:
        client.close()
    if applied:
        for migration in applied:
            console.print(f"applied {migration.version:04d}_{migration.name}")
    else:
        console.print("up to date")


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Argument(help="Where to write <topic>.schema.json files.")],
) -> None:
    """Write a JSON Schema for every topic, for downstream consumers."""
    from schemas.topics import export_json_schemas

    for path in export_json_schemas(directory, Settings().topics):
        console.print(f"wrote {path}")


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Loopback port; 0 picks a free one.")] = 9092,
    ready_file: Annotated[
        Path | None, typer.Option(help="Write host:port here once the broker answers.")
    ] = None,
) -> None:
    """Run the bundled Kafka-compatible broker in the foreground, with every topic created."""
    from api.broker import EmbeddedBroker

    settings = Settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmbeddedBroker(port=port) as running:
        from sinks.kafka import ensure_topics

        ensure_topics(running.bootstrap, settings.topics.partitions(settings.ticks_partitions))
        if ready_file:
            ready_file.write_text(running.bootstrap + "\n")
        console.print(f"broker listening on {running.bootstrap} (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


# Command groups that live beside the code they drive register themselves below.
from api.dashboard_commands import register as register_dashboards  # noqa: E402

register_dashboards(app)
from api.pricing_commands import register as register_pricing  # noqa: E402

register_pricing(app)
from api.flow_commands import register as register_flows  # noqa: E402

register_flows(app)
from api.serve_commands import register as register_serve  # noqa: E402

register_serve(app)
