"""Steering live trading over HTTP: commands reach the flow, the flow's state comes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from flows.sim.feed import TickWriter, simulated_sessions
from flows.sim.simulator import SimParams
from flows.trading.ticks import TickColumns
from sinks.kafka.admin import producer
from tests.api.test_api_server import (
    Api,
    eventually,
    trading_config,
)

pytestmark = pytest.mark.integration


def aapl_ticks_from_now(count: int) -> TickColumns:
    """`count` simulated AAPL ticks whose event times start at the current time."""
    session = next(iter(simulated_sessions(["AAPL"], date(2026, 11, 23), 1, SimParams())))
    shift = time.time_ns() // 1_000_000 - int(session.ts[0])
    part = slice(0, count)
    return TickColumns(
        ts=session.ts[part] + shift,
        codes=session.codes[part],
        symbols=session.symbols,
        bid=session.bid[part],
        ask=session.ask[part],
        last=session.last[part],
        volume=session.volume[part],
    )


def feed(writer: TickWriter, ticks: TickColumns, part: slice, end_ts: int | None = None) -> None:
    """Write ticks[part], then a heartbeat at `end_ts` (default: just after the last tick)."""
    writer.write_ticks(ticks, part)
    writer.finish(end_ts)


def state_after(api: Api, account: str, command: dict[str, Any]) -> dict[str, Any]:
    """The account's state once the flow has applied `command`."""

    def applied() -> dict[str, Any] | None:
        answer = api.http.get(f"/accounts/{account}/state")
        if answer.status_code != 200:
            return None
        state: dict[str, Any] = answer.json()
        return state if state["command_id"] == command["command_id"] else None

    return eventually(applied, what=f"{command['action']} to be applied")


def settled(read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """What `read` returns once it is non-empty and unchanged for half a second."""
    previous = eventually(lambda: read() or None, what="rows to appear")
    while True:
        time.sleep(0.5)
        current = read()
        if current == previous:
            return current
        previous = current


def decisions(api: Api, account: str, **filters: Any) -> list[dict[str, Any]]:
    answer = api.http.get(
        "/decisions", params={"account": account, "limit": 1000, "order": "asc", **filters}
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_start_is_applied_by_the_flow_and_reads_running(live_api: Api) -> None:
    created = live_api.http.post("/configs", json=trading_config("starter"), headers=live_api.auth)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    created_state = state_after(
        live_api, "starter", {"command_id": "config-starter-v1", "action": "config_update"}
    )
    assert created_state["status"] == "stopped"  # a new account waits for an explicit start

    started = live_api.http.post(
        "/accounts/starter/start", json={"reason": "go"}, headers=live_api.auth
    )
    assert started.status_code == 202
    command = started.json()
    assert command["action"] == "start"
    assert command["account_id"] == "starter"
    state = state_after(live_api, "starter", command)
    assert state["status"] == "running"
    assert "(go)" in state["reason"]
    listed = live_api.http.get("/accounts").json()
    assert [s["account_id"] for s in listed] == ["starter"]


# The first batch of the kill-switch test ends holding AAPL: the simulated session's entry at
# tick 301 fills, and its exit signal comes at tick 303 (the session is the same every run).
FIRST = 302


def open_orders(api: Api, account: str) -> list[dict[str, Any]]:
    answer = api.http.get("/orders", params={"account": account, "open": "true", "order": "asc"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def applied(api: Api, command: dict[str, Any]) -> dict[str, Any]:
    """What became of `command`, once the flow took it; it must have applied."""
    answer = api.http.get(f"/commands/{command['command_id']}", params={"wait": 10})
    assert answer.status_code == 200, answer.text
    outcome: dict[str, Any] = answer.json()
    assert outcome["status"] == "applied", outcome
    return outcome


def cancel_and_replace_a_bracket(api: Api, account: str) -> None:
    """Cancel the working take-profit and lower the stop-loss; each command reads applied, with
    the order rows it wrote (a cancel or a replace changes no trading state)."""

    def whole_bracket() -> dict[str, dict[str, Any]] | None:
        by_purpose = {order["purpose"]: order for order in open_orders(api, account)}
        return by_purpose if {"take_profit", "stop_loss"} <= by_purpose.keys() else None

    by_purpose = eventually(whole_bracket, what="the open position's bracket")
    take, stop = by_purpose["take_profit"], by_purpose["stop_loss"]
    cancel = api.http.post(f"/orders/{take['order_id']}/cancel", json={"reason": "let it run"})
    assert cancel.status_code == 202, cancel.text
    cancelled = applied(api, cancel.json())
    assert (cancelled["action"], cancelled["state"]) == ("cancel_order", None)
    [row] = cancelled["orders"]
    assert (row["order_id"], row["status"]) == (take["order_id"], "cancelled")
    assert cancelled["reason"] == "cancelled by operator: let it run"
    lower = round(stop["stop_price"] - 1.0, 2)
    replace = api.http.post(f"/orders/{stop['order_id']}/replace", json={"stop_price": lower})
    assert replace.status_code == 202, replace.text
    replaced = applied(api, replace.json())
    old, new = replaced["orders"]
    assert (old["order_id"], old["status"]) == (stop["order_id"], "replaced")
    assert (new["status"], new["stop_price"], new["purpose"]) == ("new", lower, "stop_loss")
    command_id = replace.json()["command_id"]
    assert replaced["reason"] == f"replaced by {new['order_id']} (command {command_id})"
    assert [o["order_id"] for o in open_orders(api, account)] == [new["order_id"]]


def test_kill_switch_halts_within_a_tick_and_nothing_is_approved_after(live_api: Api) -> None:
    assert live_api.settings.kafka_bootstrap_servers
    account = "killed"
    # wide exits, so that the position the first batch leaves open keeps its bracket
    exits = {"stop_loss_pct": 0.05, "take_profit_pct": 0.1}
    config = trading_config(account, exits=exits)
    created = live_api.http.post("/configs", json=config, headers=live_api.auth)
    assert created.status_code == 201, created.text
    start = live_api.http.post(f"/accounts/{account}/start", headers=live_api.auth).json()
    assert state_after(live_api, account, start)["status"] == "running"

    ticks = aapl_ticks_from_now(600)
    writer = TickWriter(
        producer(live_api.settings.kafka_bootstrap_servers),
        live_api.settings.topics.ticks,
        1,
        heartbeat_ms=200,
    )
    feed(writer, ticks, slice(0, FIRST))
    eventually(
        lambda: decisions(live_api, account, approved=True) or None,
        what="approved decisions while running",
    )
    cancel_and_replace_a_bracket(live_api, account)

    killed = live_api.http.post(
        f"/accounts/{account}/kill-switch", json={"reason": "drill"}, headers=live_api.auth
    )
    assert killed.status_code == 202
    halted = state_after(live_api, account, killed.json())
    assert halted["status"] == "halted"

    second_start, last = int(ticks.ts[FIRST]), int(ticks.ts[-1])
    # a heartbeat 2 s past the last tick lets the flow take the snapshot (and record the
    # state) that follows it, which tells the test the flow has been through the batch
    feed(writer, ticks, slice(FIRST, 600), end_ts=last + 2000)
    eventually(
        lambda: (
            True if live_api.http.get(f"/accounts/{account}/state").json()["ts"] > last else None
        ),
        what="the flow to reach the end of the second batch",
    )
    # every table has its own sink batches: wait until the decisions after the kill settle
    after = settled(lambda: decisions(live_api, account, **{"from": second_start, "to": last + 1}))
    assert after, "the second batch should still produce signals and decisions"
    assert not [d for d in after if d["approved"]]
    assert {d["rule"] for d in after} == {"trading_state"}
    before = decisions(live_api, account, **{"from": int(ticks.ts[0]), "to": second_start})
    assert not [d for d in before if d["approved"] and d["ts"] > halted["ts"]]

    alerts = live_api.http.get("/alerts", params={"account": account, "kind": "kill_switch"})
    [alert] = alerts.json()["items"]
    assert alert["severity"] == "critical"
    assert "drill" in alert["message"]


def test_commands_need_a_config_and_start_needs_it_enabled(live_api: Api) -> None:
    missing = live_api.http.post("/accounts/nobody/start", headers=live_api.auth)
    assert missing.status_code == 404
    assert "POST /configs" in missing.json()["detail"]

    live_api.http.post("/configs", json=trading_config("retired"), headers=live_api.auth)
    disabled = live_api.http.delete("/configs/retired", headers=live_api.auth)
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    assert disabled.json()["version"] == 2
    refused = live_api.http.post("/accounts/retired/start", headers=live_api.auth)
    assert refused.status_code == 409
    versions = live_api.http.get("/configs/retired/versions").json()
    assert [(v["version"], v["enabled"]) for v in versions] == [(1, True), (2, False)]
    assert live_api.http.get("/configs").json() == []
    listed = live_api.http.get("/configs", params={"include_disabled": True}).json()
    assert [c["account_id"] for c in listed] == ["retired"]
