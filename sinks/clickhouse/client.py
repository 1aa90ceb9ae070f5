"""Connecting to ClickHouse (chdb in process, or a server over HTTP) and applying migrations.

The DSN decides the engine: `chdb:///path` opens the embedded engine (one path per process),
`http(s)://user:password@host:8123` talks to a server. The same SQL runs on both.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver import options as driver_options
from clickhouse_connect.driver.client import Client

LEDGER = "schema_migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        """Split on ';' at line ends; our migrations keep semicolons out of string literals."""
        without_comments = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [part.strip() for part in without_comments.split(";\n") if part.strip(" ;\n")]


def migrations() -> list[Migration]:
    """The numbered SQL files in schemas/migrations, in order."""
    found = []
    for entry in resources.files("schemas.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def _without_pandas() -> None:
    """clickhouse-connect imports pandas at its first insert only to ask whether the rows are a
    DataFrame: 1.3 s of every process that writes (a CLI command, a flow, a cluster process).
    strikeflow never passes DataFrames, so the driver is told pandas is absent, a state it
    supports (pandas is optional to it); a process that imported pandas already keeps it."""
    if "pandas" not in sys.modules:
        driver_options.pd = None
        driver_options.pd_time_test = None


def connect(dsn: str, database: str, **settings: Any) -> Client:
    """A client on `database`, creating the database if it does not exist yet."""
    _without_pandas()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", database):
        raise ValueError(f"invalid database name {database!r}")
    # Sessions would serialise concurrent queries on a server; chdb has none to turn off.
    options: dict[str, Any] = {} if dsn.startswith("chdb:") else {"autogenerate_session_id": False}
    bootstrap = clickhouse_connect.get_client(dsn=dsn, **options)
    try:
        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    finally:
        bootstrap.close()
    return clickhouse_connect.get_client(
        dsn=dsn, database=database, settings=settings or None, **options
    )


def applied_migrations(client: Client) -> dict[int, str]:
    client.command(
        f"CREATE TABLE IF NOT EXISTS {LEDGER} "
        "(version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    rows = client.query(f"SELECT version, checksum FROM {LEDGER} FINAL").result_rows
    return {int(version): str(checksum) for version, checksum in rows}


def migrate(client: Client) -> list[Migration]:
    """Apply the migrations the ledger does not list yet; return what was applied.

    Idempotent: a second run applies nothing. A migration whose file changed after it was
    applied is an error, because the database no longer matches the file.
    """
    done = applied_migrations(client)
    applied = []
    for migration in migrations():
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise RuntimeError(
                    f"migration {migration.version:04d}_{migration.name} changed after it was "
                    "applied; add a new migration instead of editing an applied one"
                )
            continue
        for statement in migration.statements():
            client.command(statement)
        client.insert(
            LEDGER,
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        applied.append(migration)
    return applied
