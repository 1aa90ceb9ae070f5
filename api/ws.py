"""The live event stream: signals, decisions, fills and alerts over a WebSocket (`/ws`).

One confluent-kafka consumer per API process tails the four output topics from where they
ended when the API started, in a background thread, and fans every message out to the
connected clients whose filters match, through one bounded asyncio queue per client. A client
that falls `QUEUE_SIZE` messages behind is closed with code 1013 (try again later) rather than
slowing the others or growing memory.

Protocol:
- Connect to `/ws?kinds=decision,fill&accounts=acct-1&symbols=AAPL,MSFT` (every filter is
  optional and comma-separated; no filter means everything). The server answers
  `{"type": "subscribed", "filters": {...}}`.
- Send `{"kinds": [...], "accounts": [...], "symbols": [...]}` at any time to replace the
  filters (answered the same way); an invalid message is answered with
  `{"type": "error", "detail": ...}` and the connection stays open.
- Events arrive as `{"type": "event", "kind": "decision", "data": {...}}`, where `data` is the
  message exactly as on the topic (the JSON of `schemas.trading.Decision`, ...).
Kinds: signal, decision, fill, alert. The symbol filter applies to the events that have one
(a fill's underlying); alerts are about accounts and pass it.
Who may connect is decided before this module runs (api/auth.py): either token, sent as
`Authorization: Bearer`, or the login cookie; a browser's Origin must be the server's own or an
allowed one. A refused client is closed with 1008 and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.common import AccountId, Symbol
from schemas.settings import Topics
from sinks.kafka.admin import topic_partitions

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
Kind = Literal["signal", "decision", "fill", "alert"]
_SYMBOL_FIELD = {"signal": "symbol", "decision": "symbol", "fill": "underlying"}
CLOSE_TOO_SLOW = 1013


class StreamFilters(BaseModel):
    """What a client wants to receive; an empty list means no restriction."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kinds: Annotated[list[Kind], Field(max_length=4)] = []
    accounts: Annotated[list[AccountId], Field(max_length=1000)] = []
    symbols: Annotated[list[Symbol], Field(max_length=1000)] = []

    @classmethod
    def from_query(cls, query: dict[str, str]) -> StreamFilters:
        def items(name: str) -> list[str]:
            return [part.strip() for part in query.get(name, "").split(",") if part.strip()]

        return cls.model_validate({name: items(name) for name in ("kinds", "accounts", "symbols")})

    def matches(self, event: Event) -> bool:
        if self.kinds and event.kind not in self.kinds:
            return False
        if self.accounts and event.account not in self.accounts:
            return False
        return not (self.symbols and event.symbol is not None and event.symbol not in self.symbols)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    account: str | None
    symbol: str | None
    message: bytes  # the frame sent to clients, serialised once for all of them


def decode_event(kind: str, key: bytes | None, value: bytes) -> Event | None:
    """An output-topic message as an event; None for a value that is not a JSON object."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    account = data.get("account_id") or (key.decode(errors="replace") if key else None)
    symbol_field = _SYMBOL_FIELD.get(kind)
    symbol = data.get(symbol_field) if symbol_field else None
    frame = orjson.dumps({"type": "event", "kind": kind, "data": data})
    return Event(
        kind, account if isinstance(account, str) else None, symbol if symbol else None, frame
    )


@dataclass(eq=False)
class Subscription:
    filters: StreamFilters
    queue: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    overflowed: bool = False


class EventHub:
    """Tails the output topics in a thread and hands matching events to subscriptions."""

    def __init__(self, bootstrap: str, topics: Topics):
        self._bootstrap = bootstrap
        self._kinds = {
            topics.signals: "signal",
            topics.decisions: "decision",
            topics.fills: "fill",
            topics.alerts: "alert",
        }
        self._subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Consumer | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Position at the current end of every partition, then tail in a thread.

        The positions are resolved here, before the API answers its first request, so an event
        produced after the start is never skipped.
        """
        self._loop = loop
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"strikeflow-api-{uuid.uuid4().hex[:8]}",  # offsets are not committed
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 50,
            }
        )
        assignment = []
        for topic in self._kinds:
            for partition in range(topic_partitions(self._bootstrap, topic)):
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                assignment.append(TopicPartition(topic, partition, high))
        consumer.assign(assignment)
        self._consumer = consumer
        self._thread = threading.Thread(target=self._tail, name="api-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def subscribe(self, filters: StreamFilters) -> Subscription:
        subscription = Subscription(filters)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def _tail(self) -> None:
        assert self._consumer is not None and self._loop is not None
        while not self._stop.is_set():
            try:
                messages = self._consumer.consume(500, 0.2)
            except KafkaException as error:
                log.warning("event stream: %s", error)
                continue
            if not messages or not self._subscriptions:
                continue
            events = []
            for message in messages:
                value = message.value()
                if message.error() is not None or value is None:
                    continue
                event = decode_event(self._kinds[message.topic() or ""], message.key(), value)
                if event is not None:
                    events.append(event)
            if events:
                with contextlib.suppress(RuntimeError):  # the loop closed while shutting down
                    self._loop.call_soon_threadsafe(self._dispatch, events)

    def _dispatch(self, events: Iterable[Event]) -> None:
        """On the event loop: queue each event for every subscription it matches."""
        for subscription in list(self._subscriptions):
            if subscription.overflowed:
                continue
            for event in events:
                if not subscription.filters.matches(event):
                    continue
                try:
                    subscription.queue.put_nowait(event.message)
                except asyncio.QueueFull:
                    subscription.overflowed = True
                    _drain(subscription.queue)
                    subscription.queue.put_nowait(None)  # tells the sender to close
                    break


def _drain(queue: asyncio.Queue[Any]) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        while True:
            queue.get_nowait()


router = APIRouter()


def _subscribed(filters: StreamFilters) -> dict[str, Any]:
    return {"type": "subscribed", "filters": filters.model_dump()}


@router.websocket("/ws")
async def stream(websocket: WebSocket) -> None:
    """Live signals, decisions, fills and alerts, filtered as the client asks."""
    hub: EventHub = websocket.app.state.services.events
    try:
        filters = StreamFilters.from_query(dict(websocket.query_params))
    except ValidationError as error:
        await websocket.accept()  # then close with a reason the client can read
        await websocket.close(code=1008, reason=_short(error))
        return
    await websocket.accept()
    subscription = hub.subscribe(filters)
    try:
        await websocket.send_json(_subscribed(filters))
        sender = asyncio.create_task(_send(websocket, subscription))
        receiver = asyncio.create_task(_receive(websocket, subscription))
        done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                task.result()
    finally:
        hub.unsubscribe(subscription)


async def _send(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        frame = await subscription.queue.get()
        if frame is None:
            await websocket.close(code=CLOSE_TOO_SLOW, reason="too slow: events were dropped")
            return
        await websocket.send_text(frame.decode())


async def _receive(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        text = await websocket.receive_text()
        try:
            subscription.filters = StreamFilters.model_validate_json(text)
        except ValidationError as error:
            await websocket.send_json({"type": "error", "detail": _short(error)})
            continue
        await websocket.send_json(_subscribed(subscription.filters))


def _short(error: ValidationError) -> str:
    """A validation error in one line, short enough for a WebSocket close reason."""
    first = error.errors(include_url=False, include_context=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}".encode()[:120].decode(errors="ignore")
