"""`strikeflow db ...`: the ClickHouse database."""

from __future__ import annotations

import typer

from api.cli.common import console
from schemas.settings import Settings

db_app = typer.Typer(no_args_is_help=True, help="The ClickHouse database.")


@db_app.command("migrate")
def migrate_command() -> None:
    """Create the database and apply the migrations it does not have yet (idempotent)."""
    # Deferred: the ClickHouse driver would slow `strikeflow --help`.
    from sinks.clickhouse.client import connect, migrate

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


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the `strikeflow` CLI."""
    app.add_typer(db_app, name="db")
