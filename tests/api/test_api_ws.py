"""The WebSocket streams the flow's decisions (and the rest) as they happen, filtered."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from flows.sim.feed import TickWriter
from sinks.kafka.admin import producer
from tests.api.test_api_control import aapl_ticks_from_now, feed, state_after
from tests.api.test_api_server import (
    Api,
    eventually,
    trading_config,
)

pytestmark = pytest.mark.integration


def receive(socket: ClientConnection, timeout: float = 30.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=timeout))
    return message


def start_trading(api: Api, account: str) -> None:
    assert api.http.post("/configs", json=trading_config(account), headers=api.auth).is_success
    command = api.http.post(f"/accounts/{account}/start", headers=api.auth).json()
    assert state_after(api, account, command)["status"] == "running"


def test_websocket_receives_decisions_as_they_happen(live_api: Api) -> None:
    assert live_api.settings.kafka_bootstrap_servers
    start_trading(live_api, "watched")
    start_trading(live_api, "ignored")
    url = f"{live_api.ws_url}/ws?kinds=decision&accounts=watched"
    # max_queue=None: the client reads every frame it is sent, so closing does not wait on the
    # decisions still arriving after the five this test reads
    with connect(url, max_queue=None, additional_headers=live_api.auth) as socket:
        hello = receive(socket)
        assert hello == {
            "type": "subscribed",
            "filters": {"kinds": ["decision"], "accounts": ["watched"], "symbols": []},
        }
        sent_at = time.time_ns() // 1_000_000
        writer = TickWriter(
            producer(live_api.settings.kafka_bootstrap_servers),
            live_api.settings.topics.ticks,
            1,
            heartbeat_ms=200,
        )
        feed(writer, aapl_ticks_from_now(200), slice(0, 200))
        events = [receive(socket) for _ in range(5)]
    for event in events:
        assert event["type"] == "event"
        assert event["kind"] == "decision"
        decision = event["data"]
        assert decision["account_id"] == "watched"
        assert decision["symbol"] == "AAPL"
        assert decision["ts"] >= sent_at
    streamed = {e["data"]["decision_id"] for e in events}

    def stored() -> bool | None:  # the ClickHouse sink writes independently of the topic
        page = live_api.http.get("/decisions", params={"account": "watched", "limit": 1000})
        return True if streamed <= {d["decision_id"] for d in page.json()["items"]} else None

    eventually(stored, what="the streamed decisions to be stored too")


def test_filters_can_change_mid_stream_and_bad_ones_are_refused(live_api: Api) -> None:
    with connect(f"{live_api.ws_url}/ws", additional_headers=live_api.auth) as socket:
        assert receive(socket)["filters"] == {"kinds": [], "accounts": [], "symbols": []}
        socket.send(json.dumps({"kinds": ["fill", "alert"], "symbols": ["MSFT"]}))
        changed = receive(socket)
        assert changed["type"] == "subscribed"
        assert changed["filters"]["kinds"] == ["fill", "alert"]
        socket.send(json.dumps({"kinds": ["trade"]}))
        refused = receive(socket)
        assert refused["type"] == "error"
        assert "kinds" in refused["detail"]
    hostile = f"{live_api.ws_url}/ws?accounts=x'%20OR%201=1"
    with connect(hostile, additional_headers=live_api.auth) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
