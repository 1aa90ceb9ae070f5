"""Fixtures the API test modules share (their helpers are in test_api_server.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from schemas.settings import Settings, Topics
from tests.api.test_api_server import Api, api_settings, live_flow, served


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, chdb_dsn: str, kafka_bootstrap: str, module_ch: Client
) -> Iterator[Api]:
    """A server for a module whose tests share it (starting one costs a second or two): the
    session's chdb engine and broker, the module's own database and topics. Its tests keep apart
    by run and account names."""
    assert module_ch.database is not None
    suffix = uuid.uuid4().hex[:10]
    topics = Topics.model_validate({name: f"{name}.{suffix}" for name in Topics.model_fields})
    chosen = Settings(
        data_dir=tmp_path_factory.mktemp("api"),
        clickhouse_dsn=chdb_dsn,
        clickhouse_database=module_ch.database,
        kafka_bootstrap_servers=kafka_bootstrap,
        topics=topics,
    )
    with served(api_settings(chosen)) as running:
        yield running


@pytest.fixture
def live_api(settings: Settings) -> Iterator[Api]:
    """A server and the live flow on the test's own database and topics."""
    chosen = api_settings(settings)
    with live_flow(chosen) as flow, served(chosen, flow) as running:
        yield running
