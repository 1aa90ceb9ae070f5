"""Backtests over HTTP: launched in the background, followed, cancelled, compared."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.sim.simulator import SimParams, simulate_session
from tests.api.test_api_server import Api, eventually, trading_config

pytestmark = pytest.mark.integration


def backtest_config(account_id: str) -> dict[str, Any]:
    """A slower cross than the live tests': fewer trades keep the report quick to draw."""
    return trading_config(account_id, strategy={"kind": "ma_cross", "fast": 5, "slow": 20})


def write_tick_file(path: Path, rows: int) -> Path:
    """A CSV of simulated AAPL ticks (epoch-ms timestamps), as a recorded file would be."""
    ticks, _ = simulate_session(["AAPL"], date(2026, 11, 23), SimParams(ticks_per_minute=120))
    lines = ["timestamp,symbol,bid,ask,last,volume"]
    for i in range(min(rows, len(ticks))):
        lines.append(
            f"{ticks.ts[i]},AAPL,{ticks.bid[i]:.2f},{ticks.ask[i]:.2f},{ticks.last[i]:.2f},"
            f"{ticks.volume[i]}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def finished(api: Api, run_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run: dict[str, Any] = api.http.get(f"/backtests/{run_id}").json()
        return run if run["status"] in ("completed", "failed", "cancelled") else None

    return eventually(done, timeout=60, what=f"backtest {run_id} to finish")


def test_backtest_launched_over_http_completes_with_metrics(api: Api) -> None:
    write_tick_file(api.settings.data_dir / "aapl.csv", 2000)
    request = {"configs": [backtest_config("bt-fast")], "file": "aapl.csv", "run_id": "bt-http"}
    launched = api.http.post("/backtests", json=request, headers=api.auth)
    assert launched.status_code == 202, launched.text
    assert launched.json()["status"] in ("pending", "running")
    assert api.http.get("/backtests/bt-http").status_code == 200  # visible at once

    run = finished(api, "bt-http")
    assert run["status"] == "completed", run["error"]
    assert run["progress"] == 1.0
    assert run["ticks"] == 2000
    assert re.fullmatch(r"[0-9a-f]{64}", run["fingerprint"])
    shown = api.http.get("/analytics/runs/bt-http/fingerprint", headers=api.auth)
    assert shown.json() == {"run_id": "bt-http", "day": None, "fingerprint": run["fingerprint"]}
    missing = api.http.get("/analytics/runs/bt-none/fingerprint", headers=api.auth)
    assert missing.status_code == 404
    assert run["metrics"]["bt-fast.trade_count"] > 0
    assert run["source"] == "file:aapl.csv"  # the server's own paths are not shown
    assert not Path(run["report_path"]).is_absolute()
    assert (api.settings.data_dir / run["report_path"]).is_file()

    result = api.http.get("/backtests/bt-http/result").json()
    assert result["report_path"] == run["report_path"]
    [account] = result["accounts"]
    assert account["account_id"] == "bt-fast"
    assert account["metrics"]["trade_count"] == len(account["trades"]) > 0
    metrics = api.http.get("/analytics/runs/bt-http/metrics").json()
    assert metrics["accounts"][0]["metrics"] == account["metrics"]
    fills = api.http.get("/fills", params={"run": "bt-http", "account": "bt-fast"}).json()
    assert fills["items"]
    assert {f["run_id"] for f in fills["items"]} == {"bt-http"}
    listed = api.http.get("/backtests", params={"status": "completed"}).json()
    assert "bt-http" in [r["run_id"] for r in listed]
    assert {r["status"] for r in listed} == {"completed"}


def test_sweep_runs_one_account_per_point_and_compares_side_by_side(api: Api) -> None:
    write_tick_file(api.settings.data_dir / "aapl.csv", 1500)
    base = {"configs": [backtest_config("sw")], "file": "aapl.csv"}
    sweep = {**base, "sweep": {"fast": [5, 8], "slow": [20]}, "run_id": "bt-sweep"}
    single = {**base, "run_id": "bt-single"}
    for body in (sweep, single):
        assert api.http.post("/backtests", json=body, headers=api.auth).status_code == 202
    assert finished(api, "bt-sweep")["accounts"] == ["sw-fast5-slow20", "sw-fast8-slow20"]
    assert finished(api, "bt-single")["status"] == "completed"

    compared = api.http.get("/backtests/compare", params={"run_id": ["bt-sweep", "bt-single"]})
    assert compared.status_code == 200
    body = compared.json()
    assert [r["run_id"] for r in body["runs"]] == ["bt-sweep", "bt-single"]
    assert set(body["runs"][0]["accounts"]) == {"sw-fast5-slow20", "sw-fast8-slow20"}
    assert set(body["runs"][1]["accounts"]) == {"sw"}
    assert "sharpe" in body["metrics"]
    assert "trade_count" in body["metrics"]
    # the same config and data as the sweep's fast=5 point: the same result
    assert (
        body["runs"][1]["accounts"]["sw"]["final_equity"]
        == body["runs"][0]["accounts"]["sw-fast5-slow20"]["final_equity"]
    )


def test_cancelling_a_queued_and_a_running_backtest(api: Api) -> None:
    write_tick_file(api.settings.data_dir / "aapl.csv", 20000)
    first = {"configs": [backtest_config("c1")], "file": "aapl.csv", "run_id": "bt-first"}
    second = {**first, "run_id": "bt-second"}
    for body in (first, second):
        assert api.http.post("/backtests", json=body, headers=api.auth).status_code == 202
    # one job replays at a time: the second waits in the queue, and never starts
    queued = api.http.delete("/backtests/bt-second", headers=api.auth)
    assert queued.status_code == 202
    assert queued.json()["status"] == "cancelled"
    running = api.http.delete("/backtests/bt-first", headers=api.auth)
    assert running.status_code == 202
    assert finished(api, "bt-first")["status"] == "cancelled"
    never_started = api.http.get("/backtests/bt-second").json()
    assert never_started["status"] == "cancelled"
    assert never_started["ticks"] == 0
    again = api.http.delete("/backtests/bt-first", headers=api.auth)
    assert again.status_code == 409


def test_backtest_input_is_validated(api: Api) -> None:
    outside = {"configs": [trading_config("x")], "file": "../../etc/passwd"}
    answer = api.http.post("/backtests", json=outside, headers=api.auth)
    assert answer.status_code == 422
    assert "inside the data directory" in answer.text
    missing = {"configs": [trading_config("x")], "file": "nope.csv"}
    assert api.http.post("/backtests", json=missing, headers=api.auth).status_code == 422
    (api.settings.data_dir / "closes.csv").write_text("Date,Close\n2024-01-02,10\n")
    no_open = {"configs": [trading_config("x")], "file": "closes.csv", "fill": "next-open"}
    answer = api.http.post("/backtests", json=no_open, headers=api.auth)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", "fill"]
    assert problem["msg"] == "next-open needs a file with an Open column"
    topic = {"configs": [trading_config("x")], "fill": "next-open"}
    assert api.http.post("/backtests", json=topic, headers=api.auth).status_code == 422
    two = {"configs": [trading_config("a"), trading_config("b")], "sweep": {"fast": [2, 3]}}
    assert api.http.post("/backtests", json=two, headers=api.auth).status_code == 422
    unknown = {"configs": [trading_config("a")], "sweep": {"nope": [1]}}
    assert api.http.post("/backtests", json=unknown, headers=api.auth).status_code == 422
    assert api.http.get("/backtests/none-such").status_code == 404
    assert api.http.get("/backtests/none-such/result").status_code == 404
