"""Migration 0003 re-partitions by year, on a new database and on one that holds rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from schemas.tables import YEAR_PARTITIONED
from sinks.clickhouse.client import LEDGER, applied_migrations, connect, migrate, migrations

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_database(chdb_dsn: str) -> Iterator[Client]:
    name = f"t_{uuid.uuid4().hex[:10]}"
    client = connect(chdb_dsn, name)
    yield client
    client.command(f"DROP DATABASE IF EXISTS `{name}`")
    client.close()


def partition_keys(client: Client) -> dict[str, str]:
    rows = client.query(
        "SELECT name, partition_key FROM system.tables WHERE database = currentDatabase()"
    ).result_rows
    return {str(name): str(key) for name, key in rows if name != LEDGER}


def test_the_year_partitioned_tables_are_the_ones_the_sink_splits(ch: Client) -> None:
    keys = partition_keys(ch)
    assert {name for name, key in keys.items() if key} == YEAR_PARTITIONED
    assert {keys[name] for name in YEAR_PARTITIONED} == {"toYear(ts)"}


def test_migration_0003_keeps_the_rows_of_a_database_made_by_month(
    empty_database: Client,
) -> None:
    client = empty_database
    applied_migrations(client)  # creates the ledger
    before = [m for m in migrations() if m.version < 3]
    for migration in before:  # the database as it was before 0003, by hand
        for statement in migration.statements():
            client.command(statement)
        client.insert(
            LEDGER,
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
    assert partition_keys(client)["paper_fills"] == "toYYYYMM(ts)"
    client.command(
        "INSERT INTO paper_fills (fill_id, run_id, account_id, ts, side, quantity, price) "
        "SELECT toString(number), 'old', 'acct', "
        "toDateTime64('2001-01-15 15:00:00', 3, 'UTC') + toIntervalMonth(number), 'buy', 1, 10 "
        "FROM numbers(90)"
    )
    applied = migrate(client)
    assert [m.version for m in applied if m.version == 3] == [3]
    assert partition_keys(client)["paper_fills"] == "toYear(ts)"
    count, months = client.query(
        "SELECT count(), uniqExact(toYYYYMM(ts)) FROM paper_fills WHERE run_id = 'old'"
    ).result_rows[0]
    assert (count, months) == (90, 90)
    assert not [
        name for name in partition_keys(client) if name.endswith("_by_year")
    ]  # the copies are gone
    assert migrate(client) == []  # and a second run applies nothing
