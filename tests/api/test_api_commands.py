"""A command id sent twice is applied once, and what became of a command can be read back:
a state change, and a cancel or a replace of an order the flow does not work (refused). An
applied cancel and replace are read back in tests/api/test_api_control.py, where the flow has
working orders."""

from __future__ import annotations

from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from schemas.common import wall_clock_ms
from schemas.config import ControlAction, ControlCommand
from sinks.kafka.admin import producer
from sinks.store.rows import insert
from tests.api.test_api_control import state_after
from tests.api.test_api_server import Api, trading_config
from tests.orders_support import order_event

pytestmark = pytest.mark.integration


def outcome(api: Api, command_id: str) -> dict[str, Any]:
    answer = api.http.get(f"/commands/{command_id}", params={"wait": 10})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    assert found["status"] != "pending", found
    return found


def test_a_command_sent_twice_is_applied_once_and_says_what_became_of_it(
    live_api: Api, ch: Client
) -> None:
    assert live_api.settings.kafka_bootstrap_servers
    assert live_api.http.post("/configs", json=trading_config("twice")).status_code == 201
    start = {"command_id": "start-twice", "reason": "go"}
    first = live_api.http.post("/accounts/twice/start", json=start)
    again = live_api.http.post("/accounts/twice/start", json=start)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()  # the command as first sent: nothing published again
    other = live_api.http.post("/accounts/twice/pause", json=start)
    assert other.status_code == 409
    assert "start on twice" in other.json()["detail"]
    applied = outcome(live_api, "start-twice")
    assert applied["status"] == "applied"
    assert applied["action"] == "start"
    assert applied["state"]["status"] == "running"

    pause = live_api.http.post("/accounts/twice/pause", json={"command_id": "pause-1"}).json()
    assert state_after(live_api, "twice", pause)["status"] == "paused"
    # the start again, straight onto the control topic (a client retrying after this server
    # restarted): the flow ignores the id it took already, so the account stays paused
    repeat = ControlCommand.model_validate(
        {**first.json(), "ts": wall_clock_ms(), "action": ControlAction.START}
    )
    sender = producer(live_api.settings.kafka_bootstrap_servers)
    sender.produce(live_api.settings.topics.control, repeat.model_dump_json().encode(), b"twice")
    assert sender.flush(10) == 0
    # a command after it on the one control partition: once its outcome is known, so is the
    # repeat's; a pause while paused is refused, and the refusal is readable with its reason
    live_api.http.post("/accounts/twice/pause", json={"command_id": "pause-2"})
    refused = outcome(live_api, "pause-2")
    assert refused["status"] == "rejected"
    assert refused["reason"].startswith("pause does not apply while paused")
    state = live_api.http.get("/accounts/twice/state").json()
    assert (state["status"], state["command_id"]) == ("paused", "pause-1")
    assert live_api.http.get("/commands/never-sent").status_code == 404

    # an order the table shows resting that the flow does not work (it filled, or another
    # client cancelled it, after this server read it): the API sends the command, the flow
    # refuses it with a cancel_rejected or replace_rejected alert, read back as a rejection
    insert(ch, [order_event("live", "twice", "gone", 0, wall_clock_ms())])
    cancel = live_api.http.post("/orders/gone/cancel", json={"command_id": "cancel-gone"})
    assert cancel.status_code == 202, cancel.text
    cancel_refused = outcome(live_api, "cancel-gone")
    assert (cancel_refused["status"], cancel_refused["action"]) == ("rejected", "cancel_order")
    assert cancel_refused["reason"].startswith("order gone is not working")
    body = {"command_id": "replace-gone", "limit_price": 189.0}
    replace = live_api.http.post("/orders/gone/replace", json=body)
    assert replace.status_code == 202, replace.text
    replace_refused = outcome(live_api, "replace-gone")
    assert (replace_refused["status"], replace_refused["orders"]) == ("rejected", [])
    assert replace_refused["reason"].startswith("order gone is not working")
