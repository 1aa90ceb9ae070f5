"""`strikeflow schemas ...`: the data contracts, for the topics' consumers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console
from schemas.settings import Settings
from schemas.topics import export_json_schemas

schemas_app = typer.Typer(no_args_is_help=True, help="The data contracts.")


@schemas_app.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="Where to write <topic>.schema.json files.")],
) -> None:
    """Write a JSON Schema for every topic, for downstream consumers."""
    for path in export_json_schemas(directory, Settings().topics):
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the `schemas` command group to the `strikeflow` CLI."""
    app.add_typer(schemas_app, name="schemas")
