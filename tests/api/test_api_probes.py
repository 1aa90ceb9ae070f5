"""Hostile requests against a real server: each gets a 4xx with a message, never a 500, and
the connection stays usable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api_backtests import finished
from tests.api.test_api_server import Api, eventually, trading_config

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


def raw_post(api: Api, path: str, body: str, method: str = "POST") -> Any:
    return api.http.request(method, path, content=body.encode(), headers=JSON)


def test_non_finite_numbers_anywhere_in_a_body_get_a_422(api: Api) -> None:
    config = json.dumps(trading_config("nan-1"))
    probes = [
        ("/configs", config.replace('"symbols"', '"starting_cash": NaN, "symbols"')),
        ("/configs", config.replace('"max_open_positions": null', '"max_open_positions": 1e400')),
        ("/configs", config.replace('"quantity": 10', '"quantity": -Infinity')),
        (
            "/backtests",
            json.dumps({"configs": [trading_config("b")], "sweep": {"fast": [1]}}).replace(
                "[1]", "[Infinity]"
            ),
        ),
        ("/accounts/nan-1/start", '{"reason": "x", "command_id": NaN}'),
        ("/session", '{"token": NaN}'),
    ]
    for path, body in probes:
        answer = raw_post(api, path, body)
        assert answer.status_code == 422, (path, answer.text)
        [problem] = answer.json()["detail"]
        assert "is not a finite number" in problem["msg"], path
    update = config.replace('"account_id": "nan-1", ', "").replace("10", "NaN")
    assert raw_post(api, "/configs/nan-1", update, "PUT").status_code == 422
    assert api.http.get("/health").status_code == 200  # the same connection still works
    huge = raw_post(api, "/configs", '{"account_id": "' + "x" * (2 << 20) + '"}')
    assert huge.status_code == 413


def test_trading_hours_with_an_offset_or_a_number_get_a_422(api: Api) -> None:
    for hours in (
        {"open": "09:30:00", "close": "16:00:00Z"},
        {"open": "09:30:00", "close": 0},
        {"open": "09:30+01:00", "close": "16:00+01:00"},
    ):
        body = trading_config("hours", limits={"trading_hours": hours})
        answer = api.http.post("/configs", json=body)
        assert answer.status_code == 422, answer.text
        problem = answer.json()["detail"][0]
        assert problem["loc"][:3] == ["body", "limits", "trading_hours"]
        assert "time of day" in problem["msg"]


def test_a_file_name_the_file_system_refuses_gets_a_422(api: Api) -> None:
    configs = [trading_config("files")]
    for name in ("ticks\x00.csv", "a\nb.csv", "x" * 300 + ".csv"):
        answer = api.http.post("/backtests", json={"configs": configs, "file": name})
        assert answer.status_code == 422, (name[:20], answer.text)
        assert answer.json()["detail"][0]["loc"] == ["body", "file"]


def test_a_time_range_needs_both_ends(api: Api) -> None:
    for path in ("/signals", "/decisions", "/analytics/rejections", "/analytics/strategies"):
        for params in ({"from": 1_795_000_000_000}, {"to": "2026-11-25T00:00:00Z"}):
            answer = api.http.get(path, params=params)
            assert answer.status_code == 422, (path, params)
            assert "at most 366 days" in answer.json()["detail"][0]["msg"]


def test_a_failed_backtest_says_why_without_server_paths_or_rust_locations(api: Api) -> None:
    (api.settings.data_dir / "broken.csv").write_text(
        "timestamp,symbol,close\n2026-11-23T14:30:00Z,AAPL,abc\n"
    )
    body = {"configs": [trading_config("broken")], "file": "broken.csv", "run_id": "bt-broken"}
    launched = api.http.post("/backtests", json=body)
    assert launched.status_code == 202, launched.text
    assert launched.json()["source"] == "file:broken.csv"
    assert finished(api, "bt-broken")["status"] == "failed"

    def explained() -> dict[str, Any] | None:
        # the replay records Bytewax's wrapper first; the job then records the cause
        run: dict[str, Any] = api.http.get("/backtests/bt-broken").json()
        return run if "abc" in run["error"] else None

    run = eventually(explained, what="the failure's cause")
    assert run["error"].startswith("ArrowInvalid: ")
    for shown in (json.dumps(run), api.http.get("/backtests").text):
        assert str(api.settings.data_dir.resolve()) not in shown
        assert ".rs:" not in shown
