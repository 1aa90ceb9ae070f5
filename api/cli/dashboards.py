"""`strikeflow dashboards ...`: export the generated dashboards, or publish them to Grafana."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console
from schemas.settings import Settings

dashboards_app = typer.Typer(no_args_is_help=True, help="The Grafana dashboards.")


@dashboards_app.command("export")
def export_command(
    directory: Annotated[
        Path,
        typer.Argument(help="Where to write json/*.json and the provisioning files."),
    ],
) -> None:
    """Write the dashboards' JSON and Grafana/ClickHouse provisioning files to DIRECTORY.

    `strikeflow dashboards export dashboards` regenerates the files committed in the repository.
    """
    # Deferred: the dashboards' models would slow `strikeflow --help`.
    from dashboards.export import export

    for path in export(directory):
        console.print(f"wrote {path}")


@dashboards_app.command("publish")
def publish_command(
    url: Annotated[
        str | None, typer.Option(help="Grafana base URL [default: STRIKEFLOW_GRAFANA_URL]")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Grafana service account token [default: STRIKEFLOW_GRAFANA_TOKEN]"),
    ] = None,
    clickhouse_dsn: Annotated[
        str | None,
        typer.Option(
            help="How Grafana reaches ClickHouse, http(s)://user:password@host:port "
            "[default: STRIKEFLOW_CLICKHOUSE_DSN]"
        ),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            help="How Grafana reaches the Prometheus that scrapes strikeflow; without it the "
            "Pipeline dashboard is not published"
        ),
    ] = None,
) -> None:
    """Create or update the datasource, folder and dashboards in a running Grafana (idempotent)."""
    # Deferred: the Grafana client would slow `strikeflow --help`.
    from dashboards.provision import ClickHouseServer
    from dashboards.publish import GrafanaError, publish

    settings = Settings()
    url, token = grafana_access(settings, url, token)
    try:
        server, password = ClickHouseServer.from_dsn(
            clickhouse_dsn or settings.dsn, settings.clickhouse_database
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        summary = publish(
            url, token, server=server, password=password, prometheus_url=prometheus_url
        )
    except GrafanaError as exc:
        console.print(f"[red]Grafana refused the publication: {exc}[/red]")
        raise typer.Exit(1) from exc
    for label, items in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
    ):
        for item in items:
            console.print(f"{label:9} {item}")


def grafana_access(settings: Settings, url: str | None, token: str | None) -> tuple[str, str]:
    """Grafana's URL and token from the options or the settings; exit 2 naming what is missing."""
    url = url or settings.grafana_url
    if token is None and settings.grafana_token is not None:
        token = settings.grafana_token.get_secret_value()
    missing = [
        f"{option} (or {variable})"
        for option, variable, value in (
            ("--url", "STRIKEFLOW_GRAFANA_URL", url),
            ("--token", "STRIKEFLOW_GRAFANA_TOKEN", token),
        )
        if not value
    ]
    if missing:
        console.print(f"[red]Grafana is not configured: pass {' and '.join(missing)}.[/red]")
        raise typer.Exit(2)
    assert url is not None  # narrowed by the check above
    assert token is not None
    return url, token


def register(app: typer.Typer) -> None:
    """Add the `dashboards` command group to the `strikeflow` CLI."""
    app.add_typer(dashboards_app, name="dashboards")
