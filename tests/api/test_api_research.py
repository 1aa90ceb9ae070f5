"""Research over HTTP: walk-forward and Monte Carlo of a finished sweep, read back from the
store without a second replay; the new metrics side by side in /backtests/compare."""

from __future__ import annotations

import itertools

import pytest

from tests.api.test_api_backtests import backtest_config, finished, write_tick_file
from tests.api.test_api_server import Api

pytestmark = pytest.mark.integration


def test_a_finished_sweep_is_walked_forward_and_resampled(api: Api) -> None:
    write_tick_file(api.settings.data_dir / "wf.csv", 3000)  # about 13 minutes of ticks
    body = {
        "configs": [backtest_config("wf")],
        "file": "wf.csv",
        "sweep": {"fast": [5, 8], "slow": [20, 30]},
        "run_id": "bt-wf",
    }
    assert api.http.post("/backtests", json=body, headers=api.auth).status_code == 202
    assert finished(api, "bt-wf")["status"] == "completed"

    query = {"train": "5m", "test": "2m", "objective": "psr"}
    walked = api.http.get("/backtests/bt-wf/walk-forward", params=query)
    assert walked.status_code == 200, walked.text
    report = walked.json()
    assert report["combinations"] == 4
    assert report["objective"] == "psr"
    windows = report["windows"]
    assert len(windows) >= 2
    for window in windows:
        assert window["train_to"] <= window["test_from"]
        assert set(window["parameters"]) == {"fast", "slow"}
    for before, after in itertools.pairwise(windows):
        assert after["test_from"] == before["test_to"]
    assert api.http.get("/backtests/bt-wf/walk-forward", params=query).json() == report

    carlo = api.http.get("/backtests/bt-wf/monte-carlo", params={"simulations": 200, "seed": 5})
    assert carlo.status_code == 200, carlo.text
    assert set(carlo.json()) == {
        "wf-fast5-slow20",
        "wf-fast5-slow30",
        "wf-fast8-slow20",
        "wf-fast8-slow30",
    }

    compared = api.http.get("/backtests/compare", params={"run_id": ["bt-wf", "bt-wf"]}).json()
    assert {"psr", "deflated_sharpe", "sqn", "ulcer_index"} <= set(compared["metrics"])


def test_research_input_is_checked(api: Api) -> None:
    missing = api.http.get("/backtests/bt-none/walk-forward", params={"train": "1d", "test": "1d"})
    assert missing.status_code == 404
    bad = api.http.get("/backtests/bt-none/walk-forward", params={"train": "1x", "test": "1d"})
    assert bad.status_code == 422
    objective = {"train": "1d", "test": "1d", "objective": "luck"}
    assert api.http.get("/backtests/bt-none/walk-forward", params=objective).status_code == 422
    many = api.http.get("/backtests/bt-none/monte-carlo", params={"simulations": 10**6})
    assert many.status_code == 422


def test_a_backtest_launched_with_research_is_walked_forward_with_its_own_plan(api: Api) -> None:
    write_tick_file(api.settings.data_dir / "wf-launch.csv", 3000)
    plan = {"train": "5m", "test": "2m", "objective": "total_return"}
    body = {
        "configs": [backtest_config("wfl")],
        "file": "wf-launch.csv",
        "sweep": {"fast": [5, 8], "slow": [20]},
        "run_id": "bt-wf-launch",
        "walk_forward": plan,
        "monte_carlo": 100,
        "seed": 3,
    }
    launched = api.http.post("/backtests", json=body, headers=api.auth)
    assert launched.status_code == 202, launched.text
    assert launched.json()["research"]["walk_forward"]["train"] == "5m"
    run = finished(api, "bt-wf-launch")
    assert run["status"] == "completed"
    assert run["research"] == {
        "walk_forward": {**plan, "anchored": False},
        "monte_carlo": 100,
        "seed": 3,
    }
    assert run["error"] == ""

    stored = api.http.get("/backtests/bt-wf-launch/walk-forward")
    assert stored.status_code == 200, stored.text
    explicit = api.http.get("/backtests/bt-wf-launch/walk-forward", params=plan)
    assert stored.json() == explicit.json()
    assert stored.json()["objective"] == "total_return"
    anchored = api.http.get("/backtests/bt-wf-launch/walk-forward", params={"anchored": True})
    assert anchored.status_code == 200
    assert anchored.json()["plan"]["anchored"] is True
    assert {w["train_from"] for w in anchored.json()["windows"]} == {
        stored.json()["windows"][0]["train_from"]
    }
    # The job wrote the research page beside the report when the replay completed.
    page = api.settings.data_dir / "reports" / "bt-wf-launch-research.html"
    assert "Walk-forward" in page.read_text() or "walk-forward" in page.read_text()


def test_research_at_launch_is_checked_before_anything_runs(api: Api) -> None:
    single = {"configs": [backtest_config("wf1")], "file": "none.csv"}
    alone = api.http.post(
        "/backtests",
        json={**single, "walk_forward": {"train": "5m", "test": "2m"}},
        headers=api.auth,
    )
    assert alone.status_code == 422
    assert "walk-forward chooses between accounts" in alone.text
    swept = {**single, "sweep": {"fast": [5, 8]}}
    for plan, wrong in (
        ({"train": "5x", "test": "2m"}, "train"),
        ({"train": "5m", "test": "2m", "objective": "luck"}, "objective"),
        ({"train": "0m", "test": "2m"}, "walk_forward"),
    ):
        answer = api.http.post("/backtests", json={**swept, "walk_forward": plan}, headers=api.auth)
        assert answer.status_code == 422, (plan, answer.text)
        assert wrong in answer.text
    never = api.http.get("/backtests/bt-wf/walk-forward", params={"train": "5m"})
    assert never.status_code == 422


def test_a_walk_forward_longer_than_the_data_leaves_the_run_completed_with_the_reason(
    api: Api,
) -> None:
    write_tick_file(api.settings.data_dir / "wf-short.csv", 600)
    body = {
        "configs": [backtest_config("wfs")],
        "file": "wf-short.csv",
        "sweep": {"fast": [5, 8]},
        "run_id": "bt-wf-short",
        "walk_forward": {"train": "1w", "test": "1d"},
    }
    assert api.http.post("/backtests", json=body, headers=api.auth).status_code == 202
    run = finished(api, "bt-wf-short")
    assert run["status"] == "completed"
    assert run["error"].startswith("research: walk-forward not possible: the data spans")
    assert api.http.get("/backtests/bt-wf-short/result").status_code == 200
    assert api.http.get("/backtests/bt-wf-short/walk-forward").status_code == 422
