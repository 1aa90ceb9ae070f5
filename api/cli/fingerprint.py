"""`strikeflow fingerprint`: the SHA-256 of a run's output rows (see sinks/store/fingerprint.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from api.cli.common import console
from schemas.settings import Settings


def fingerprint(
    run: Annotated[str, typer.Option(help="The run id (`live` for the live flow and the demo).")],
    day: Annotated[
        str | None,
        typer.Option(help="Only this trading day (YYYY-MM-DD, in the exchange's time zone)."),
    ] = None,
) -> None:
    """Print the fingerprint of a run (or of one of its days): equal output rows, equal string."""
    try:
        on = date.fromisoformat(day) if day is not None else None
    except ValueError:
        raise typer.BadParameter(f"--day {day!r} is not a date (YYYY-MM-DD)") from None
    # Deferred: the ClickHouse driver would slow `strikeflow --help`.
    from sinks.clickhouse.client import connect, migrate
    from sinks.store.fingerprint import fingerprint_and_rows

    settings = Settings()
    client = connect(settings.dsn, settings.clickhouse_database)
    try:
        migrate(client)
        value, rows = fingerprint_and_rows(client, run, on, settings.exchange_timezone)
    finally:
        client.close()
    if rows == 0:
        console.print(f"run {run} has no rows" + (f" on {on}" if on else ""))
        raise typer.Exit(1)
    print(value)


def register(app: typer.Typer) -> None:
    """Add `fingerprint` as a top-level command of the `strikeflow` CLI."""
    app.command("fingerprint")(fingerprint)
