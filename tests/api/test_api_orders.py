"""Orders over HTTP, on a real server, chdb and broker: listings of order states with filters
and paging, an order's history, and a cancel and a replace that reach the control topic.

The flow writes no order rows in these tests: they are inserted as the account stage writes
them (tests/orders_support.py), into the server's own database."""

from __future__ import annotations

from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from schemas.config import ControlCommand
from sinks.store.rows import insert
from tests.api.test_api_server import READ_TOKEN, Api
from tests.flows_support import read_topic
from tests.orders_support import T0, order_book

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def books(module_ch: Client) -> None:
    insert(module_ch, order_book("live", "alice") + order_book("live", "bob", "b"))
    insert(module_ch, order_book("bt-1", "alice", "t"))


def ids(api: Api, **params: Any) -> list[str]:
    answer = api.http.get("/orders", params={"limit": 100, **params})
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None
    return [order["order_id"] for order in answer.json()["items"]]


def test_orders_are_listed_as_their_latest_state_with_filters(api: Api) -> None:
    answer = api.http.get("/orders", params={"account": "alice"})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [o["order_id"] for o in items] == ["o6", "o5", "o4", "o3", "o2", "o1"]
    first = items[-1]
    assert (first["status"], first["filled_quantity"], first["quantity"]) == (
        "partially_filled", 40, 100,
    )  # fmt: skip
    assert ids(api, account="alice", open="true", order="asc") == ["o1", "o3", "o4"]
    assert ids(api, account="alice", open="false", order="asc") == ["o2", "o5", "o6"]
    assert ids(api, status="cancelled") == ["o5", "b5"]
    assert ids(api, symbol="MSFT") == ["o4", "b4"]
    assert ids(api, instrument="MSFT", account="bob") == ["b4"]
    assert ids(api, purpose="take_profit", run="bt-1") == ["t4"]
    assert ids(api, run="bt-9") == []
    placed = {"from": T0 + 1000, "to": T0 + 3000, "account": "alice"}
    assert ids(api, **placed) == ["o2", "o1"]


def test_orders_page_with_a_cursor_like_the_other_listings(api: Api) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 4, "order": "asc"}
    while True:
        page = api.http.get("/orders", params=params).json()
        seen += [order["order_id"] for order in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ["b1", "o1", "b2", "o2", "b3", "o3", "b4", "o4", "b5", "o5", "b6", "o6"]
    tampered = api.http.get("/orders", params={"cursor": "bm90IGEgY3Vyc29y"})
    assert tampered.status_code == 422


def test_bad_filters_are_refused_with_the_field_named(api: Api) -> None:
    for params in ({"status": "sleeping"}, {"open": "maybe"}, {"purpose": "DROP TABLE"}):
        answer = api.http.get("/orders", params=params)
        assert answer.status_code == 422, params
        assert answer.json()["detail"][0]["loc"][-1] == next(iter(params))


def test_an_order_comes_with_its_history(api: Api) -> None:
    answer = api.http.get("/orders/o5")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["order"]["status"] == "cancelled"
    assert [(r["sequence"], r["status"]) for r in body["history"]] == [
        (0, "new"), (1, "cancelled"),
    ]  # fmt: skip
    assert api.http.get("/orders/t5", params={"run": "bt-1"}).status_code == 200
    unknown = api.http.get("/orders/t5")  # a backtest's order is not a live one
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no order t5 in run live"


def test_cancel_sends_a_cancel_order_command_for_a_resting_order(api: Api) -> None:
    answer = api.http.post("/orders/o3/cancel", json={"reason": "tighter stop"})
    assert answer.status_code == 202, answer.text
    sent = answer.json()
    assert (sent["action"], sent["account_id"], sent["order_id"]) == ("cancel_order", "alice", "o3")
    bootstrap = api.settings.kafka_bootstrap_servers
    assert bootstrap is not None
    messages = read_topic(bootstrap, api.settings.topics.control)
    arrived = [ControlCommand.model_validate_json(value) for _, value in messages]
    found = [c for c in arrived if c.command_id == sent["command_id"]]
    assert len(found) == 1
    assert (found[0].order_id, found[0].reason) == ("o3", "tighter stop")
    key = next(k for k, v in messages if ControlCommand.model_validate_json(v) == found[0])
    assert key == b"alice"
    partial = api.http.post("/orders/b1/cancel")  # no body: partially filled is still open
    assert partial.status_code == 202, partial.text
    assert partial.json()["account_id"] == "bob"


def test_cancel_refuses_finished_unknown_and_read_only(api: Api) -> None:
    for order_id, state in (("o2", "filled"), ("o5", "cancelled"), ("o6", "rejected")):
        answer = api.http.post(f"/orders/{order_id}/cancel")
        assert answer.status_code == 409, answer.text
        assert answer.json()["detail"].startswith(f"order {order_id} is {state}, not open")
    unknown = api.http.post("/orders/t3/cancel")  # rests in a backtest: no live order
    assert unknown.status_code == 404
    read_only = api.anonymous.post(
        "/orders/o4/cancel", headers={"Authorization": f"Bearer {READ_TOKEN}"}
    )
    assert read_only.status_code == 403
    assert api.anonymous.get("/orders").status_code == 401


def test_replace_sends_a_replace_order_command_with_the_new_terms(api: Api) -> None:
    body = {"limit_price": 190.25, "quantity": 80, "reason": "chase"}
    answer = api.http.post("/orders/o1/replace", json=body)  # limit buy, 40 of 100 filled
    assert answer.status_code == 202, answer.text
    sent = answer.json()
    assert (sent["action"], sent["account_id"]) == ("replace_order", "alice")
    assert sent["order_id"] == "o1"
    assert (sent["limit_price"], sent["quantity"], sent["stop_price"]) == (190.25, 80, None)
    bootstrap = api.settings.kafka_bootstrap_servers
    assert bootstrap is not None
    messages = read_topic(bootstrap, api.settings.topics.control)
    arrived = [ControlCommand.model_validate_json(value) for _, value in messages]
    [found] = [c for c in arrived if c.command_id == sent["command_id"]]
    assert (found.order_id, found.changes, found.reason) == (
        "o1",
        {"quantity": 80, "limit_price": 190.25},
        "chase",
    )


def test_replace_refuses_unknown_finished_and_invalid_terms(api: Api) -> None:
    unknown = api.http.post("/orders/t3/replace", json={"quantity": 5})
    assert unknown.status_code == 404
    filled = api.http.post("/orders/o2/replace", json={"quantity": 5})
    assert filled.status_code == 409, filled.text
    assert filled.json()["detail"].startswith("order o2 is filled, not open")
    for body, message in (
        ({}, "at least one new term"),
        ({"quantity": 0}, "greater than 0"),
        ({"trail_amount": 1.0, "trail_percent": 0.1}, "not both"),
        ({"limit_price": 1.0, "size": 3}, "Extra inputs"),
    ):
        answer = api.http.post("/orders/o3/replace", json=body)
        assert answer.status_code == 422, body
        assert message in answer.json()["detail"][0]["msg"], answer.text
    for order_id, body, term, message in (
        ("o3", {"limit_price": 180.0}, "limit_price", "a stop order has no limit_price"),
        ("o1", {"quantity": 40}, "quantity", "quantity 40 leaves nothing to work: 40 filled"),
    ):
        answer = api.http.post(f"/orders/{order_id}/replace", json=body)
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["detail"]
        assert problem["loc"] == ["body", term]
        assert message in problem["msg"]
    read_only = api.anonymous.post(
        "/orders/o4/replace",
        json={"limit_price": 200.0},
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    )
    assert read_only.status_code == 403
