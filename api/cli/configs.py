"""`strikeflow configs ...`: the accounts' algorithm configs in ClickHouse, without the API.

With the embedded ClickHouse only one process may open the database, so while `strikeflow
serve` holds it the API is the way in; before `python -m bytewax.run flows.live:flow` (which
reads the newest enabled config of every account when it starts) these commands are. They
follow the API's rules: every change is a new version numbered from the last one, `version`
and `created_ts` are the store's to set, disabling writes a version with `enabled: false`, and
a config is validated by the same model (`AlgorithmConfig`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from api.cli.common import console
from schemas.common import wall_clock_ms
from schemas.config import AlgorithmConfig
from schemas.settings import Settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

configs_app = typer.Typer(no_args_is_help=True, help="Algorithm configs, one account each.")

_SERVER_FIELDS = ("version", "created_ts")


def read_config_file(path: Path) -> list[dict[str, Any]]:
    """The configs of a YAML or JSON file: one mapping, a list, or a mapping with `accounts`."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"{path}: {error}") from None
    if isinstance(data, dict) and "accounts" in data:
        data = data["accounts"]
    items = data if isinstance(data, list) else [data]
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise typer.BadParameter(f"{path}: config {number} is not a mapping")
        if "account_id" not in item:
            raise typer.BadParameter(f"{path}: config {number} has no account_id")
        taken = [name for name in _SERVER_FIELDS if name in item]
        if taken:
            raise typer.BadParameter(
                f"{path}: config {number} sets {', '.join(taken)}: the store numbers versions"
            )
    return items


def _next_version(client: Client, values: dict[str, Any]) -> AlgorithmConfig:
    """Validate `values` as the account's next config version and store it."""
    from sinks.store.configs import config_versions
    from sinks.store.rows import insert

    versions = config_versions(client, str(values["account_id"]))
    config = AlgorithmConfig.model_validate(
        {
            **values,
            "version": versions[-1].version + 1 if versions else 1,
            "created_ts": wall_clock_ms(),  # wall-clock ok: bookkeeping, as the API's
        }
    )
    insert(client, [config])
    return config


def _connect() -> Client:
    # Deferred: the ClickHouse driver would slow `strikeflow --help`.
    from sinks.clickhouse.client import connect, migrate

    settings = Settings()
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    return client


@configs_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="YAML or JSON: one config, or a list of them.")],
) -> None:
    """Store each config of FILE as its account's next version (version 1 for a new account)."""
    items = read_config_file(file)
    # Every config is validated before any is stored: a file applies whole or not at all.
    for number, item in enumerate(items, 1):
        try:
            AlgorithmConfig.model_validate(item)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "config"
            raise typer.BadParameter(f"{file}: config {number}: {where}: {first['msg']}") from None
    client = _connect()
    try:
        for item in items:
            config = _next_version(client, item)
            console.print(f"{config.account_id}: version {config.version} stored")
    finally:
        client.close()


@configs_app.command("list")
def list_configs(
    include_disabled: Annotated[bool, typer.Option("--all", help="Also disabled configs.")] = False,
) -> None:
    """The newest version of every account's config."""
    from sinks.store.configs import latest_configs

    client = _connect()
    try:
        configs = latest_configs(client, include_disabled)
    finally:
        client.close()
    table = Table(title="algorithm configs")
    for column in ("account", "version", "enabled", "strategy", "symbols", "starting cash"):
        table.add_column(
            column, justify="right" if column in ("version", "starting cash") else "left"
        )
    for config in configs:
        table.add_row(
            config.account_id,
            str(config.version),
            "yes" if config.enabled else "no",
            config.strategy.kind,
            ", ".join(config.symbols),
            f"{config.starting_cash:,.2f}",
        )
    Console().print(table)


@configs_app.command("disable")
def disable(account: Annotated[str, typer.Argument(help="The account id.")]) -> None:
    """Write a version of ACCOUNT's config with enabled = false: the live flow skips it."""
    from sinks.store.configs import config_versions

    client = _connect()
    try:
        versions = config_versions(client, account)
        if not versions:
            console.print(f"no config for {account}")
            raise typer.Exit(1)
        values = versions[-1].model_dump(exclude=set(_SERVER_FIELDS))
        config = _next_version(client, {**values, "enabled": False})
    finally:
        client.close()
    console.print(f"{config.account_id}: version {config.version} stored, disabled")


def register(app: typer.Typer) -> None:
    """Add the `configs` command group to the `strikeflow` CLI."""
    app.add_typer(configs_app, name="configs")
