"""`strikeflow backtest --walk-forward ... --monte-carlo N`: the real CLI in a subprocess over a
tick file, one replay pass for every combination."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.cli.test_cli_runs import run_cli, write_config, write_ticks_csv

pytestmark = pytest.mark.integration


def walk_forward_args(ticks: Path, config: Path, workers: int) -> list[str]:
    return [
        "backtest",
        "--config",
        str(config),
        "--file",
        str(ticks),
        "--json",
        "--sweep",
        "fast=5,10",
        "--sweep",
        "slow=20,40",
        "--walk-forward",
        "train=20m,test=10m",
        "--objective",
        "sharpe",
        "--monte-carlo",
        "300",
        "--seed",
        "7",
        "--workers",
        str(workers),
    ]


def test_a_walk_forward_chooses_per_window_and_stitches_one_out_of_sample_run(
    tmp_path: Path,
) -> None:
    ticks, config = tmp_path / "ticks.csv", tmp_path / "config.yaml"
    write_ticks_csv(ticks, rows=6000)  # 100 minutes of 1-second ticks
    write_config(config)
    done = run_cli(walk_forward_args(ticks, config, 1), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    accounts = {a["account_id"] for a in result["accounts"]}
    for account in result["accounts"]:
        for name in ("psr", "deflated_sharpe", "sqn", "omega", "cvar_95", "ulcer_index"):
            assert name in account["metrics"]
        assert account["metrics"]["deflated_sharpe"] <= account["metrics"]["psr"]
        assert all(t["mae"] >= 0 and t["mfe"] >= 0 for t in account["trades"])
    walk = result["walk_forward"]
    windows = walk["windows"]
    assert len(windows) == 8  # 100 minutes: 20 of training, then 8 test windows of 10
    for before, after in itertools.pairwise(windows):
        assert after["test_from"] == before["test_to"]
    for window in windows:
        assert window["train_to"] <= window["test_from"]
        assert window["chosen"] in accounts
        assert set(window["parameters"]) == {"fast", "slow"}
        assert {"total_return", "sharpe", "psr"} <= set(window["out_of_sample"])
    assert walk["in_sample_best"]["account_id"] in accounts
    assert walk["efficiency"] is None or isinstance(walk["efficiency"], float)
    tested = walk["trades"]
    assert all(windows[0]["test_from"] <= t["exit_ts"] < windows[-1]["test_to"] for t in tested)
    assert len(walk["equity"]["ts"]) == len(walk["equity"]["equity"]) > 0
    carlo = result["monte_carlo"]
    assert set(carlo) == accounts | {"out_of_sample"}
    for found in carlo.values():
        assert found["simulations"] == 300
        assert found["bootstrap"]["final_equity"]["p5"] <= found["bootstrap"]["final_equity"]["p95"]

    two_workers = run_cli(walk_forward_args(ticks, config, 2), tmp_path)
    assert two_workers.returncode == 0, two_workers.stderr[-3000:]
    again = json.loads(two_workers.stdout)
    assert again["walk_forward"] == walk
    assert again["monte_carlo"] == carlo


def test_a_malformed_walk_forward_is_refused_before_any_replay(tmp_path: Path) -> None:
    ticks, config = tmp_path / "ticks.csv", tmp_path / "config.yaml"
    write_ticks_csv(ticks, rows=100)
    write_config(config)
    done = run_cli(
        ["backtest", "--config", str(config), "--file", str(ticks), "--walk-forward", "train=90d"],
        tmp_path,
    )
    assert done.returncode == 2
    assert "needs both train= and test=" in done.stderr
    assert not (tmp_path / "reports").exists()
