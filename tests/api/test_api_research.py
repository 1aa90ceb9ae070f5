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
