"""Tokens on every mutation; hostile filters get a 422 or nothing, never other rows."""

from __future__ import annotations

import base64
import json

import pytest

from api.auth import PUBLIC_PATHS
from api.routers.common import Cursor
from schemas.settings import Settings
from schemas.trading import Signal
from sinks.clickhouse.client import connect
from sinks.store.rows import insert
from tests.api.test_api_server import (
    Api,
    trading_config,
)

pytestmark = pytest.mark.integration

BASE_TS = 1_795_000_000_000


def seed_signals(settings: Settings, run: str, account: str, count: int) -> None:
    client = connect(settings.dsn, settings.clickhouse_database)
    insert(
        client,
        [
            Signal(
                signal_id=f"{account}-{i:03d}",
                run_id=run,
                account_id=account,
                ts=BASE_TS + (i // 2) * 1000,  # pairs share a ts: the id breaks the tie
                symbol="AAPL" if i % 2 else "MSFT",
                strategy="ma_cross",
                direction="long",
                strength=0.5,
                price=100.0,
                reason="seeded",
                config_version=1,
            )
            for i in range(count)
        ],
    )
    client.close()


def operations(api: Api, methods: tuple[str, ...]) -> list[tuple[str, str]]:
    """The spec's operations of these methods but the open ones, with concrete paths."""
    spec = api.http.get("/openapi.json").json()
    found = []
    for path, described in spec["paths"].items():
        if path in PUBLIC_PATHS:
            continue
        for method in described:
            if method in methods:
                concrete = path.replace("{account_id}", "acct").replace("{run_id}", "run")
                concrete = concrete.replace("{name}", "ticks.csv").replace("{order_id}", "o-1")
                found.append((method.upper(), concrete))
    return found


def test_every_mutating_endpoint_refuses_without_and_with_a_wrong_token(api: Api) -> None:
    mutating = operations(api, ("post", "put", "delete", "patch"))
    # 6 commands, create/update/disable config, launch/cancel backtest, upload a tick file,
    # cancel and replace an order
    assert len(mutating) == 14
    for method, path in mutating:
        missing = api.anonymous.request(method, path, json={})
        assert missing.status_code == 401, (method, path, missing.text)
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = api.anonymous.request(
            method, path, json={}, headers={"Authorization": "Bearer not-the-token"}
        )
        assert wrong.status_code == 403, (method, path, wrong.text)
        basic = api.anonymous.request(
            method, path, json={}, headers={"Authorization": "Basic eDp5"}
        )
        assert basic.status_code == 401, (method, path)


def test_injection_attempts_in_filters_get_422_or_nothing(api: Api) -> None:
    seed_signals(api.settings, "inj", "alice", 4)
    seed_signals(api.settings, "inj", "bob", 4)
    hostile = [
        {"run": "inj", "account": "alice' OR '1'='1"},
        {"run": "inj", "account": "alice", "symbol": "AAPL' OR 1=1 --"},
        {"run": "inj' UNION SELECT * FROM system.tables --"},
        {"run": "inj", "account": "alice); DROP TABLE auto_signals; --"},
        {"run": "inj", "order": "desc; DROP TABLE auto_signals"},
        {"run": "inj", "from": "0 OR 1=1"},
        {"run": "inj", "limit": "10 OR 1=1"},
    ]
    for params in hostile:
        answer = api.http.get("/signals", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert "Traceback" not in answer.text
    assert api.http.get("/decisions", params={"rule": "ok' OR 'a'='a"}).status_code == 422
    assert api.http.get("/configs/alice' OR 1=1").status_code == 422
    assert api.http.get("/backtests/x'; DROP TABLE backtest_runs").status_code == 422
    # well-formed values that merely look like SQL are just values: nothing matches them
    assert api.http.get("/signals", params={"run": "inj", "account": "OR"}).json()["items"] == []
    alice = api.http.get("/signals", params={"run": "inj", "account": "alice"}).json()["items"]
    assert {s["account_id"] for s in alice} == {"alice"}
    assert len(alice) == 4
    assert len(api.http.get("/signals", params={"run": "inj"}).json()["items"]) == 8


def test_tampered_cursors_are_refused(api: Api) -> None:
    seed_signals(api.settings, "cursors", "alice", 4)
    forged = Cursor(BASE_TS, "x' OR 1=1 --", "desc").encode()
    raw = base64.urlsafe_b64encode(json.dumps(["now", "a", "desc"]).encode()).decode()
    for cursor in (forged, raw, "not base64 !!", "e30"):
        answer = api.http.get("/signals", params={"run": "cursors", "cursor": cursor})
        assert answer.status_code == 422, cursor
        assert answer.json()["detail"][0]["loc"] == ["query", "cursor"]
    ascending = Cursor(BASE_TS, "alice-000", "asc").encode()
    mixed = api.http.get("/signals", params={"cursor": ascending, "order": "desc"})
    assert mixed.status_code == 422


def test_cursor_pages_cover_every_row_once_in_order(api: Api) -> None:
    seed_signals(api.settings, "pages", "alice", 25)
    for order in ("desc", "asc"):
        seen: list[tuple[int, str]] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {
                "run": "pages",
                "account": "alice",
                "limit": 10,
                "order": order,
            }
            if cursor:
                params["cursor"] = cursor
            page = api.http.get("/signals", params=params).json()
            seen.extend((s["ts"], s["signal_id"]) for s in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 25
        assert len(set(seen)) == 25
        assert seen == sorted(seen, reverse=order == "desc")


def test_page_sizes_and_time_ranges_are_bounded(api: Api) -> None:
    assert api.http.get("/signals", params={"limit": 1001}).status_code == 422
    assert api.http.get("/signals", params={"limit": 0}).status_code == 422
    inverted = api.http.get("/fills", params={"from": BASE_TS, "to": BASE_TS - 1})
    assert inverted.status_code == 422
    assert "after" in inverted.text
    huge = api.http.get("/alerts", params={"from": "2001-01-01T00:00:00Z", "to": BASE_TS})
    assert huge.status_code == 422
    assert "at most 366 days" in huge.text
    assert api.http.get("/signals", params={"from": "2026-11-25T00:00:00"}).status_code == 422
    iso = api.http.get("/signals", params={"from": "2026-11-01T00:00:00Z", "to": BASE_TS})
    assert iso.status_code == 200
    assert api.http.get("/analytics/strategies", params={"from": -10, "to": 10}).status_code == 422


def test_invalid_configs_get_a_clear_422(api: Api) -> None:
    repeated = trading_config("dup", symbols=["AAPL", "AAPL"])
    answer = api.http.post("/configs", json=repeated, headers=api.auth)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", "symbols"]
    assert "repeat" in problem["msg"]
    crossed = trading_config("x", strategy={"kind": "ma_cross", "fast": 30, "slow": 10})
    answer = api.http.post("/configs", json=crossed, headers=api.auth)
    assert answer.status_code == 422
    assert "shorter than slow" in answer.text
    extra = {**trading_config("x"), "version": 7}
    assert api.http.post("/configs", json=extra, headers=api.auth).status_code == 422
