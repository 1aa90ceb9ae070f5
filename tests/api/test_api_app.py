"""The app's edges without its services: auth answers, the 500 handler, the config bodies."""

from __future__ import annotations

import asyncio
import logging
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.cli.serve import write_token
from api.deps import Services
from api.routers.configs import ConfigCreate, ConfigUpdate
from flows.sim.feed import FeedStoppedError, realtime_pacer
from schemas.config import AlgorithmConfig
from schemas.settings import Settings

TOKEN = "unit-token"


def unopened_app(token: str | None) -> FastAPI:
    """The app with services that were never opened: any use of ClickHouse or Kafka fails.

    Requests go straight to the ASGI app without its lifespan, so nothing connects.
    """
    settings = Settings(
        kafka_bootstrap_servers="127.0.0.1:9",
        api_token=SecretStr(token) if token is not None else None,
    )
    app = create_app(settings)
    app.state.services = Services(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail /etc/strikeflow")

    return app


class Client:
    """Requests straight to the ASGI app (no lifespan, so no connections), one at a time."""

    def __init__(self, app: FastAPI):
        self._app = app

    def request(self, method: str, path: str, **options: object) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
                return await http.request(method, path, **options)  # type: ignore[arg-type]

        return asyncio.run(send())

    def get(self, path: str, **options: object) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: object) -> httpx.Response:
        return self.request("POST", path, **options)

    def delete(self, path: str, **options: object) -> httpx.Response:
        return self.request("DELETE", path, **options)


@pytest.fixture
def client() -> Client:
    return Client(unopened_app(TOKEN))


def test_unexpected_errors_answer_a_generic_500_and_log_the_trace(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="api.app"):
        answer = client.get("/boom", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal server error"}
    assert "secret" not in answer.text
    assert "Traceback" not in answer.text
    [record] = [r for r in caplog.records if r.name == "api.app"]
    assert record.exc_info is not None
    assert "secret detail" in str(record.exc_info[1])


def test_token_checks_come_before_any_work(client: Client) -> None:
    missing = client.post("/accounts/a/start")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/accounts/a/start", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "invalid bearer token"}
    latin = "Bearer tökén".encode("latin-1")
    unicode = client.post("/accounts/a/start", headers={"Authorization": latin})
    assert unicode.status_code == 403
    # the right token gets through to the route, which needs the (unopened) services: a 500
    right = client.post("/accounts/a/start", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 500
    assert right.json() == {"detail": "internal server error"}


def test_without_a_configured_token_every_mutation_is_refused() -> None:
    client = Client(unopened_app(None))
    answer = client.delete("/configs/a", headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 403
    assert "no API token is configured" in answer.json()["detail"]


def test_config_bodies_are_the_config_without_server_fields() -> None:
    server = {"version", "created_ts"}
    assert set(ConfigCreate.model_fields) == set(AlgorithmConfig.model_fields) - server
    assert set(ConfigUpdate.model_fields) == set(AlgorithmConfig.model_fields) - server - {
        "account_id"
    }
    with pytest.raises(ValueError, match="version"):
        ConfigCreate.model_validate({"account_id": "a", "symbols": ["AAPL"], "version": 3})


def test_openapi_describes_times_of_day_as_partial_times() -> None:
    spec = unopened_app(TOKEN).openapi()
    hours = spec["components"]["schemas"]["TradingHours"]["properties"]
    assert hours["open"]["format"] == hours["close"]["format"] == "partial-time"


def test_the_token_file_is_private_even_if_it_existed(tmp_path: Path) -> None:
    existing = tmp_path / "api-token"
    existing.write_text("old")
    existing.chmod(0o644)
    path = write_token(tmp_path, "new-token")
    assert path.read_text() == "new-token\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_feed_pacer_sleeps_by_event_time_and_stops_at_once() -> None:
    stop = threading.Event()
    pace = realtime_pacer(speed=10.0, stop=stop)
    pace(1_795_000_000_000)  # anchors
    started = time.monotonic()
    pace(1_795_000_000_500)  # 0.5 s of event time at 10x: 0.05 s
    assert 0.03 <= time.monotonic() - started < 1.0
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    with pytest.raises(FeedStoppedError):
        pace(1_795_000_000_000 + 86_400_000)  # a simulated night
    assert time.monotonic() - started < 2.0
