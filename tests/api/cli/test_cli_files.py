"""`strikeflow backtest --file` on a file as a vendor writes it, and on one it cannot use: the
real CLI in a subprocess (chdb needs a process of its own per data directory)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from api.cli import app
from tests.api.cli.test_cli_runs import run_cli
from tests.flows.accounts.test_next_open import BARS, CONFIG, ms, write_bars

pytestmark = pytest.mark.integration


def yahoo_file(path: Path, days: int) -> None:
    """Yahoo's columns and date-only rows: a random walk over business days from 2015."""
    rng = np.random.default_rng(3)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, days)))
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    day, written = date(2015, 1, 2), 0
    while written < days:
        if day.weekday() < 5:
            c = closes[written]
            lines.append(f"{day},{c:.2f},{c * 1.01:.2f},{c * 0.99:.2f},{c:.2f},{c * 0.9:.4f},1000")
            written += 1
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")


def test_a_date_only_yahoo_file_backtests_end_to_end(tmp_path: Path) -> None:
    bars = tmp_path / "SPY.csv"
    yahoo_file(bars, 2000)  # about eight years: by month, more partitions than one insert takes
    config = tmp_path / "cross.yaml"
    config.write_text(
        yaml.safe_dump(
            {"symbols": ["SPY"], "strategy": {"kind": "ma_cross", "fast": 10, "slow": 30}}
        )
    )
    args = ["backtest", "--config", str(config), "--file", str(bars), "--symbol", "SPY"]
    done = run_cli([*args, "--adjusted", "--json"], tmp_path / "data")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed"
    assert summary["ticks"] == 2000
    [account] = summary["accounts"]
    assert account["metrics"]["trade_count"] > 20


def test_a_file_it_cannot_use_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    bars = tmp_path / "bad.csv"
    bars.write_text("Date,Close\n2024-01-02,10\n2024-01-03,ten\n")
    config = tmp_path / "cross.yaml"
    config.write_text(yaml.safe_dump({"symbols": ["X"]}))
    done = run_cli(
        ["backtest", "--config", str(config), "--file", str(bars), "--symbol", "X"],
        tmp_path / "data",
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "column 'Close', line 3: expected a number, got 'ten'" in lines[0]


def test_next_open_fills_each_decision_at_the_next_bars_open(tmp_path: Path) -> None:
    """The hand-worked bars of tests/flows/accounts/test_next_open.py, end to end."""
    bars = write_bars(tmp_path / "SPY.csv")
    config = tmp_path / "reverse.yaml"
    config.write_text(yaml.safe_dump(CONFIG.model_dump(mode="json")))
    args = ["backtest", "--config", str(config), "--file", str(bars), "--symbol", "SPY"]
    done = run_cli([*args, "--fill", "next-open", "--json"], tmp_path / "data")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed"
    assert summary["ticks"] == len(BARS)  # the opens are not messages of the file
    [account] = summary["accounts"]
    trades = [
        (t["direction"], t["entry_ts"], t["entry_price"], t["exit_ts"], t["exit_price"], t["pnl"])
        for t in account["trades"]
    ]
    open_at = {day: ms(f"{day}T14:30") for day in ("2024-01-08", "2024-01-10", "2024-01-12")}
    assert trades == [
        ("long", open_at["2024-01-08"], 12.4, open_at["2024-01-10"], 8.6, -38.0),
        ("short", open_at["2024-01-10"], 8.6, open_at["2024-01-12"], 11.7, -31.0),
    ]


def test_next_open_on_a_file_without_open_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    bars = tmp_path / "closes.csv"
    bars.write_text("Date,Close\n2024-01-02,10\n")
    config = tmp_path / "cross.yaml"
    config.write_text(yaml.safe_dump({"symbols": ["X"]}))
    args = ["backtest", "--config", str(config), "--file", str(bars), "--symbol", "X"]
    done = CliRunner().invoke(app, [*args, "--fill", "next-open"], env=_data_env(tmp_path))
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [
        f"--file: {bars}: --fill next-open needs an 'Open' column; the columns are Date, Close"
    ]


def _data_env(tmp_path: Path) -> dict[str, str | None]:
    return {"STRIKEFLOW_DATA_DIR": str(tmp_path / "data"), "STRIKEFLOW_CLICKHOUSE_DSN": None}
