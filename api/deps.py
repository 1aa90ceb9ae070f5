"""What the API's routes depend on: the bearer-token check and the shared clients.

`Services` holds every connection the API uses. It is built from the settings without touching
the network; `open()` (called by the app's lifespan) connects, and `close()` lets go.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from typing import Annotated, Any

from clickhouse_connect.driver.client import Client
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.routers.backtest_jobs import BacktestJobs
from api.ws import EventHub
from schemas.config import ControlCommand
from schemas.db import connect, migrate
from schemas.settings import Settings
from sinks.kafka import admin, ensure_topics, producer


class ErrorResponse(BaseModel):
    """The body of every error answer except 422 (which lists the invalid fields)."""

    detail: str


class Services:
    """The API's connections: ClickHouse, the Kafka producer, the live-event hub, the backtest
    jobs; and, in embedded mode, a probe of the flow thread running in this process."""

    def __init__(self, settings: Settings, flow_alive: Callable[[], bool] | None = None):
        if not settings.kafka_bootstrap_servers:
            raise ValueError("the API needs the Kafka bootstrap servers in its settings")
        self.settings = settings
        self.bootstrap: str = settings.kafka_bootstrap_servers
        self.flow_alive = flow_alive
        self.events = EventHub(self.bootstrap, settings.topics)
        self.backtests = BacktestJobs(settings, self.bootstrap)
        self._clickhouse: Client | None = None
        self._producer: Producer | None = None
        # Configs get their next version from a read then a write; one writer at a time.
        self.config_lock = threading.Lock()

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        settings = self.settings
        ensure_topics(self.bootstrap, settings.topics.partitions(settings.ticks_partitions))
        client = connect(settings.dsn, settings.clickhouse_database)
        migrate(client)
        self._clickhouse = client
        self._producer = producer(self.bootstrap, **{"linger.ms": 0})
        self.backtests.open()
        self.events.start(loop)

    def close(self) -> None:
        self.events.stop()
        self.backtests.close()
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
        if self._clickhouse is not None:
            self._clickhouse.close()
            self._clickhouse = None

    @property
    def clickhouse(self) -> Client:
        if self._clickhouse is None:
            raise RuntimeError("the API's services are not open")
        return self._clickhouse

    def publish(self, command: ControlCommand, timeout: float = 10.0) -> None:
        """Produce a command on the control topic (key: account) and wait for the broker's ack.

        Blocking: call it from a worker thread. Raises `KafkaException` if it is not delivered.
        """
        if self._producer is None:
            raise RuntimeError("the API's services are not open")
        outcome: list[KafkaError | None] = []
        done = threading.Event()

        def delivered(error: KafkaError | None, _message: Message) -> None:
            outcome.append(error)
            done.set()

        self._producer.produce(
            self.settings.topics.control,
            command.model_dump_json().encode(),
            command.account_id.encode(),
            on_delivery=delivered,
        )
        self._producer.poll(0)
        self._producer.flush(timeout)
        if not done.is_set():
            raise KafkaException(f"command {command.command_id} not acknowledged in {timeout}s")
        if outcome[0] is not None:
            raise KafkaException(outcome[0])

    def broker_reachable(self, timeout: float = 2.0) -> bool:
        """Whether the broker answers and knows the control topic."""
        try:
            topic = self.settings.topics.control
            metadata = admin(self.bootstrap).list_topics(topic=topic, timeout=timeout)
        except KafkaException:
            return False
        found = metadata.topics.get(topic)
        return found is not None and found.error is None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="The API token (STRIKEFLOW_API_TOKEN, or the one `strikeflow serve` generated "
    "into <data_dir>/api-token), as `Authorization: Bearer <token>`.",
)


def require_token(
    found: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> None:
    """401 without a bearer token, 403 with a wrong one (or when the server has none)."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = found.settings.api_token
    if expected is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "no API token is configured; mutations are disabled"
        )
    if not secrets.compare_digest(
        credentials.credentials.encode(), expected.get_secret_value().encode()
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid bearer token")


Responses = dict[int | str, dict[str, Any]]


def error_response(code: int, description: str) -> Responses:
    """An OpenAPI `responses` entry for an error answered with `ErrorResponse`."""
    return {code: {"model": ErrorResponse, "description": description}}


AUTH_RESPONSES: Responses = {
    **error_response(401, "No bearer token was sent."),
    **error_response(403, "The bearer token is wrong (or the server has none)."),
}
# FastAPI answers 400 to a body it cannot read at all (not UTF-8); 422 to one that is invalid.
BODY_RESPONSES: Responses = error_response(400, "The body could not be read (not UTF-8 JSON).")
Authorized = [Depends(require_token)]
