"""What the API's routes depend on: the shared clients, and the error answers they document.

Who may call a route is decided before it runs, by api/auth.py.

`Services` holds every connection the API uses. It is built from the settings without touching
the network; `open()` (called by the app's lifespan) connects, and `close()` lets go.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Hashable
from typing import Annotated, Any, TypeVar

from clickhouse_connect.driver.client import Client
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.commands import CommandLog
from api.jobs import BacktestJobs
from api.recent import RecentReads
from api.ws import EventHub
from schemas.config import ControlCommand
from schemas.settings import Settings
from sinks.clickhouse.client import connect, migrate
from sinks.kafka.admin import admin, ensure_topics, producer

T = TypeVar("T")
READERS = 4  # ClickHouse connections of the API


class ErrorResponse(BaseModel):
    """The body of every error answer except 422 (which lists the invalid fields)."""

    detail: str


class Services:
    """The API's connections: ClickHouse, the Kafka producer, the live-event hub, the backtest
    jobs, the commands sent; and, in embedded mode, a probe of the flow thread running in this
    process."""

    def __init__(self, settings: Settings, flow_alive: Callable[[], bool] | None = None):
        if not settings.kafka_bootstrap_servers:
            raise ValueError("the API needs the Kafka bootstrap servers in its settings")
        self.settings = settings
        self.bootstrap: str = settings.kafka_bootstrap_servers
        self.flow_alive = flow_alive
        self.events = EventHub(self.bootstrap, settings.topics)
        self.backtests = BacktestJobs(settings, self.bootstrap)
        self.commands = CommandLog()
        # Each client is its own engine connection, and a connection answers one query at a
        # time: a few let concurrent reads overlap (chdb lets go of the GIL while it works).
        self._clickhouse: list[Client] = []
        self._turn = itertools.count()
        self._admin: AdminClient | None = None
        self.recent = RecentReads()
        self._producer: Producer | None = None
        # Configs get their next version from a read then a write; one writer at a time.
        self.config_lock = threading.Lock()

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        settings = self.settings
        ensure_topics(self.bootstrap, settings.topics.partitions(settings.ticks_partitions))
        client = connect(settings.dsn, settings.clickhouse_database)
        migrate(client)
        others = [connect(settings.dsn, settings.clickhouse_database) for _ in range(1, READERS)]
        self._clickhouse = [client, *others]
        self._admin = admin(self.bootstrap)
        self._producer = producer(self.bootstrap, **{"linger.ms": 0})
        self.backtests.open()
        self.events.start(loop)

    def close(self) -> None:
        self.events.stop()
        self.backtests.close()
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
        for client in self._clickhouse:
            client.close()
        self._clickhouse = []
        self._admin = None

    @property
    def clickhouse(self) -> Client:
        """One of the open clients, in turn."""
        if not self._clickhouse:
            raise RuntimeError("the API's services are not open")
        return self._clickhouse[next(self._turn) % len(self._clickhouse)]

    async def read_records(self, query: Callable[..., T], *args: Hashable) -> T:
        """`query(client, *args)` in a worker thread, shared with identical reads of the
        moment (see api/recent.py): for the flow's records only."""
        return await self.recent.read(
            (query, args), lambda: run_in_threadpool(query, self.clickhouse, *args)
        )

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
            client = self._admin or admin(self.bootstrap)
            metadata = client.list_topics(topic=topic, timeout=timeout)
        except KafkaException:
            return False
        found = metadata.topics.get(topic)
        return found is not None and found.error is None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]

Responses = dict[int | str, dict[str, Any]]


def error_response(code: int, description: str) -> Responses:
    """An OpenAPI `responses` entry for an error answered with `ErrorResponse`."""
    return {code: {"model": ErrorResponse, "description": description}}


# FastAPI answers 400 to a body it cannot read at all (not UTF-8); 422 to one that is invalid.
BODY_RESPONSES: Responses = error_response(400, "The body could not be read (not UTF-8 JSON).")
