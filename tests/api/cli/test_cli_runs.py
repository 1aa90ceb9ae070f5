"""The commands a user runs: the demo, a backtest with a sweep, a file replayed into the topic
and backtested by time range. Each runs the real CLI in a subprocess (chdb needs a process of
its own per data directory)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.settings import Settings
from tests.flows_support import json_values, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.long(45)]

STRIKEFLOW = [sys.executable, "-m", "api"]


def run_cli(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "STRIKEFLOW_DATA_DIR": str(data_dir), **env}
    environment.pop("STRIKEFLOW_CLICKHOUSE_DSN", None)
    if "STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS" not in env:
        environment.pop("STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS", None)
    return subprocess.run(
        [*STRIKEFLOW, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def topic_env(settings: Settings) -> dict[str, str]:
    env = {"STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or ""}
    for field in type(settings.topics).model_fields:
        env[f"STRIKEFLOW_TOPIC_{field.upper()}"] = getattr(settings.topics, field)
    return env


def test_the_demo_trades_a_session_and_prints_its_summary(tmp_path: Path) -> None:
    done = run_cli(["demo", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    for key in (
        "ticks",
        "signals",
        "approved",
        "rejected",
        "rejected_by_rule",
        "fills",
        "final_equity",
        "max_drawdown",
    ):
        assert key in summary, key
    assert summary["ticks"] > 100_000
    assert summary["approved"] > 0
    assert summary["rejected"] == sum(summary["rejected_by_rule"].values())
    assert summary["fills"] >= summary["approved"]
    assert summary["final_equity"] == pytest.approx(
        summary["starting_equity"] + summary["pnl"], abs=0.011
    )
    assert 0 <= summary["max_drawdown"] < 1
    assert Path(summary["report"]).is_file()
    assert re.fullmatch(r"[0-9a-f]{64}", summary["fingerprint"])
    again = run_cli(["fingerprint", "--run", "live"], tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.strip() == summary["fingerprint"]
    day = run_cli(["fingerprint", "--run", "live", "--day", "2026-11-23"], tmp_path)
    assert re.fullmatch(r"[0-9a-f]{64}", day.stdout.strip())
    assert day.stdout.strip() != summary["fingerprint"]  # the session's day, not the run
    none = run_cli(["fingerprint", "--run", "live", "--day", "2026-12-25"], tmp_path)
    assert none.returncode == 1
    assert "run live has no rows on 2026-12-25" in none.stderr
    bad = run_cli(["fingerprint", "--run", "live", "--day", "23/11/2026"], tmp_path)
    assert bad.returncode == 2
    assert "is not a date" in bad.stderr


def write_ticks_csv(path: Path, rows: int = 3000) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "symbol", "bid", "ask", "close", "volume"])
        price = 100.0
        for i in range(rows):
            price += 0.05 if (i // 40) % 2 == 0 else -0.05
            ts = 1_795_789_800_000 + i * 1000
            writer.writerow(
                [ts, "AAPL", f"{price - 0.01:.2f}", f"{price + 0.01:.2f}", f"{price:.2f}", 100]
            )
        writer.writerow([1_795_789_800_000 + rows * 1000, "AAPL", "10", "9", "9.5", 1])  # crossed
        writer.writerow([1_795_789_800_000 + rows * 1000, "lower", "10", "11", "10.5", 1])


def write_config(path: Path) -> None:
    path.write_text(
        yaml.safe_dump(
            {
                "account_id": "bt",
                "symbols": ["AAPL"],
                "strategy": {"kind": "ma_cross", "fast": 5, "slow": 20},
                "limits": {"trading_hours": None},
            }
        )
    )


def test_a_file_backtest_with_a_sweep_is_ranked_and_repeatable(tmp_path: Path) -> None:
    ticks, config = tmp_path / "ticks.csv", tmp_path / "config.yaml"
    write_ticks_csv(ticks)
    write_config(config)
    args = [
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
    ]
    first = run_cli(args, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    result = json.loads(first.stdout)
    assert result["status"] == "completed"
    accounts = {a["account_id"]: a for a in result["accounts"]}
    assert set(accounts) == {
        "bt-fast5-slow20",
        "bt-fast5-slow40",
        "bt-fast10-slow20",
        "bt-fast10-slow40",
    }
    returns = [a["metrics"]["total_return"] for a in result["accounts"]]
    assert returns == sorted(returns, reverse=True)
    assert all(a["trades"] for a in result["accounts"])
    assert Path(result["report"]).is_file()
    assert re.fullmatch(r"[0-9a-f]{64}", result["fingerprint"])
    second = run_cli(args, tmp_path)
    assert json.loads(second.stdout) == result  # same inputs, same run id, same numbers
    stored = run_cli(["fingerprint", "--run", result["run_id"]], tmp_path)
    assert stored.stdout.strip() == result["fingerprint"]


def test_a_replayed_file_is_backtested_by_time_range_from_the_topic(
    settings: Settings, tmp_path: Path
) -> None:
    ticks, config = tmp_path / "ticks.csv", tmp_path / "config.yaml"
    write_ticks_csv(ticks, rows=2000)
    write_config(config)
    env = topic_env(settings)
    replayed = run_cli(["feed", "replay", str(ticks)], tmp_path, **env)
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert "2,000 ticks" in replayed.stderr
    assert "2 rows rejected" in replayed.stderr
    assert settings.kafka_bootstrap_servers is not None
    dead = json_values(read_topic(settings.kafka_bootstrap_servers, settings.topics.deadletter))
    assert sorted(d["reason"] for d in dead) == [
        "bid is above ask (a crossed quote)",
        "symbol does not match the pattern",
    ]
    window = ["--from", "2026-11-27T14:40:00Z", "--to", "2026-11-27T14:50:00Z"]
    done = run_cli(["backtest", "--config", str(config), "--json", *window], tmp_path, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    trades = result["accounts"][0]["trades"]
    assert trades
    start, end = 1_795_789_800_000 + 600_000, 1_795_789_800_000 + 1_200_000
    assert all(start <= t["entry_ts"] < end and start <= t["exit_ts"] < end for t in trades)


def test_the_simulated_feed_writes_ticks_heartbeats_and_option_quotes(
    settings: Settings, tmp_path: Path
) -> None:
    from schemas.market import Heartbeat, OptionQuote, Tick
    from schemas.topics import OptionMessage, TickMessage
    from sinks.kafka.admin import topic_partitions

    env = topic_env(settings)
    args = [
        "feed",
        "simulate",
        "--symbols",
        "AAPL,MSFT",
        "--ticks-per-minute",
        "2",
        "--options",
        "--options-interval-seconds",
        "7200",
        "--seed",
        "3",
        "--quote-sizes",
    ]
    done = run_cli(args, tmp_path, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert settings.kafka_bootstrap_servers is not None
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Tick | Heartbeat] = TypeAdapter(TickMessage)
    ticks = [
        adapter.validate_json(v)
        for _, v in read_topic(settings.kafka_bootstrap_servers, settings.topics.ticks)
    ]
    assert {t.kind for t in ticks} == {"tick", "heartbeat"}
    options: TypeAdapter[OptionQuote | Heartbeat] = TypeAdapter(OptionMessage)
    messages = [
        (key, options.validate_json(value))
        for key, value in read_topic(settings.kafka_bootstrap_servers, settings.topics.options)
    ]
    quotes = [(key, q) for key, q in messages if isinstance(q, OptionQuote)]
    # the heartbeats go to every partition, so a flow reading the quotes can merge past them
    beats = [q for key, q in messages if isinstance(q, Heartbeat)]
    bootstrap = settings.kafka_bootstrap_servers
    assert topic_partitions(bootstrap, settings.topics.options) == topic_partitions(
        bootstrap, settings.topics.ticks
    )
    assert len(beats) == sum(1 for t in ticks if isinstance(t, Heartbeat))
    # a chain per symbol every two hours of a 6.5-hour session from 09:30 ET: 11:00, 13:00, 15:00
    chains = {(q.underlying, q.ts) for _, q in quotes}
    assert len(chains) == 2 * 3
    assert all(key == q.underlying.encode() for key, q in quotes)
    assert all(q.bid <= q.ask for _, q in quotes)
    # --quote-sizes: every tick and every option quote has its sizes
    assert all(t.bid_size is not None for t in ticks if isinstance(t, Tick))
    assert all(q.bid_size is not None and q.ask_size is not None for _, q in quotes)
