"""The API served by a real uvicorn on a loopback port, on the session's chdb engine and broker.

This module also holds the helpers the other API test modules share: the server runs in a
thread of the pytest process (chdb allows one engine path per process), the live flow in
another, built by flows.stages.graph for the test's topics and database.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from api.app import create_app
from api.auth import PUBLIC_PATHS
from api.deps import Services
from api.runtime.broker import free_port
from api.runtime.live import LiveFlow
from schemas.settings import Settings
from sinks.kafka.admin import ensure_topics

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token-for-tests"
READ_TOKEN = "read-only-token-for-tests"
T = TypeVar("T")


def api_settings(settings: Settings) -> Settings:
    """The test's settings, with both tokens and small, fast batches for a quick round trip."""
    return settings.model_copy(
        update={
            "api_token": SecretStr(TOKEN),
            "api_read_token": SecretStr(READ_TOKEN),
            "ticks_partitions": 1,
            "account_shards": 1,
            "sink_max_seconds": 0.1,
            "snapshot_interval_seconds": 1,
        }
    )


@dataclass
class Api:
    """A running server. `http` sends the full token on every request (every route but /health
    needs one); `anonymous` sends no credentials; `auth` is the full token's header."""

    url: str
    settings: Settings
    http: httpx.Client
    anonymous: httpx.Client
    auth: dict[str, str]

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


@contextlib.contextmanager
def live_flow(settings: Settings) -> Iterator[LiveFlow]:
    """The live graph (no accounts yet: they come as config_update commands) in a thread."""
    assert settings.kafka_bootstrap_servers
    ensure_topics(settings.kafka_bootstrap_servers, settings.topics.partitions(1))
    flow = LiveFlow(settings, [])
    flow.start()
    try:
        yield flow
    finally:
        flow.stop()
        assert not flow.alive(), "the live flow did not stop"
        assert flow.error is None


@contextlib.contextmanager
def served(settings: Settings, flow: LiveFlow | None = None) -> Iterator[Api]:
    services = Services(settings, flow_alive=flow.alive if flow is not None else None)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, services), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with (
            httpx.Client(base_url=url, timeout=30, headers=auth) as http,
            httpx.Client(base_url=url, timeout=30) as anonymous,
        ):
            yield Api(url, settings, http, anonymous, auth)
    finally:
        server.should_exit = True
        thread.join(60)
        assert not thread.is_alive(), "the API server did not stop"


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "it") -> T:
    """Poll `probe` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def trading_config(account_id: str, **changes: Any) -> dict[str, Any]:
    """A config that trades often: a fast moving-average cross on shares, at any hour."""
    return {
        "account_id": account_id,
        "symbols": ["AAPL"],
        "strategy": {"kind": "ma_cross", "fast": 2, "slow": 5},
        "sizing": {"method": "fixed_quantity", "quantity": 10},
        "limits": {"trading_hours": None, "max_open_positions": None},
        **changes,
    }


def test_health_and_readiness_report_each_part(api: Api) -> None:
    assert api.http.get("/health").json() == {"status": "ok"}
    ready = api.http.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is body["clickhouse"] is body["broker"] is True
    assert body["flow_thread"] is None  # the flow runs elsewhere for this app
    assert body["heartbeat_age_seconds"] is None  # no live tick was ever written
    stale = api.http.get("/ready", params={"max_heartbeat_age": 60})
    assert stale.status_code == 503
    assert stale.json()["ready"] is False


def test_openapi_documents_auth_models_and_tags(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    tags = {tag["name"] for tag in spec["tags"]}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert set(operation["tags"]) <= tags, (method, path)
            assert operation.get("summary"), (method, path)
            success = next(code for code in operation["responses"] if code.startswith("2"))
            if success != "204":  # No Content: the login's answer is its cookie
                assert "content" in operation["responses"][success], (method, path)
            if path not in PUBLIC_PATHS:
                assert operation["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
    decisions = spec["paths"]["/decisions"]["get"]["responses"]["200"]
    schema = decisions["content"]["application/json"]["schema"]["$ref"]
    page = spec["components"]["schemas"][schema.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"items", "next_cursor"}
