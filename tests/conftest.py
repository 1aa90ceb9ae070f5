"""Shared fixtures: the real ClickHouse engine (chdb) and the real Kafka-protocol broker (Tansu).

chdb opens one engine path per process, so the whole session shares one path and every test
gets its own freshly migrated database on it. The broker is the one named by
STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS (CI starts one) or, when that is unset, one started here;
every test gets its own topic names.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from hypothesis import settings as hypothesis_settings

from api.runtime.broker import EmbeddedBroker
from schemas.settings import Settings, Topics
from sinks.clickhouse.client import connect, migrate

# Property tests check results, not speed: Hypothesis' 200 ms deadline per example turns a
# loaded machine (CI on 2 shared cores) into failures ("FlakyFailure: DeadlineExceeded").
hypothesis_settings.register_profile("strikeflow", deadline=None)
hypothesis_settings.load_profile("strikeflow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `long(seconds)` first, longest first; then the other integration
    modules (servers, subprocesses, browsers); the quick ones last; each module's tests in their
    own order.

    `make test` hands whole modules to its two workers in this order; started last, a long
    module would leave one worker idle at the end while the other finishes it alone."""
    weight: dict[object, float] = {}
    slow = set()
    for item in items:
        if (marker := item.get_closest_marker("long")) is not None:
            weight[item.path] = float(marker.args[0])
        if item.get_closest_marker("integration"):
            slow.add(item.path)
    # stable: the order within a module stays
    items.sort(key=lambda item: (-weight.get(item.path, 0.0), item.path not in slow))


@pytest.fixture(scope="session")
def chdb_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('clickhouse')}"


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def _migrated_database(dsn: str) -> Iterator[str]:
    name = _unique("t")
    client = connect(dsn, name)
    migrate(client)
    client.close()
    yield name
    cleanup = connect(dsn, name)
    cleanup.command(f"DROP DATABASE IF EXISTS `{name}`")
    cleanup.close()


@pytest.fixture
def database(chdb_dsn: str) -> Iterator[str]:
    """A new, migrated database on the session's chdb engine; dropped afterwards."""
    with _migrated_database(chdb_dsn) as name:
        yield name


@pytest.fixture(scope="module")
def module_ch(chdb_dsn: str) -> Iterator[Client]:
    """One migrated database for a whole module, for tests that empty the tables they use."""
    with _migrated_database(chdb_dsn) as name:
        client = connect(chdb_dsn, name)
        yield client
        client.close()


@pytest.fixture
def ch(chdb_dsn: str, database: str) -> Iterator[Client]:
    client = connect(chdb_dsn, database)
    yield client
    client.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap


@pytest.fixture
def topics() -> Topics:
    """Topic names no other test uses, so tests can share one broker."""
    suffix = uuid.uuid4().hex[:10]
    return Topics(**{name: f"{name}.{suffix}" for name in Topics.model_fields})


@pytest.fixture
def settings(
    tmp_path: Path, chdb_dsn: str, database: str, kafka_bootstrap: str, topics: Topics
) -> Settings:
    """Settings for one test: its own data dir, database and topics on the shared services."""
    return Settings(
        data_dir=tmp_path,
        clickhouse_dsn=chdb_dsn,
        clickhouse_database=database,
        kafka_bootstrap_servers=kafka_bootstrap,
        topics=topics,
    )
