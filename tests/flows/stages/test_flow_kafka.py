"""The whole flow against the real broker and the real ClickHouse engine: what it writes, what
it refuses, and that the same input gives the same rows however it is run."""

from __future__ import annotations

from typing import Any

import pytest
from bytewax.run import cli_main
from clickhouse_connect.driver.client import Client

from flows.runs.backtest import Source, run_backtest
from flows.runs.live import live_spec
from flows.stages.graph import build_flow
from schemas.config import (
    AlgorithmConfig,
    BollingerBreakout,
    InstrumentSelection,
    MovingAverageCross,
    RiskLimits,
    Sizing,
)
from schemas.settings import Settings
from schemas.trading import DeadLetter, Decision, Signal
from sinks.clickhouse.client import connect, migrate
from sinks.store.fingerprint import run_fingerprint
from tests.flows_support import feed_session, json_values, read_topic, table_rows

pytestmark = pytest.mark.integration

CONFIGS = [
    AlgorithmConfig(
        account_id="trend",
        symbols=["AAPL", "MSFT"],
        strategy=MovingAverageCross(fast=5, slow=20),
        limits=RiskLimits(cooldown_seconds=30),
    ),
    AlgorithmConfig(
        account_id="options",
        symbols=["MSFT"],
        strategy=BollingerBreakout(period=20, width=1.5, allow_short=True),
        selection=InstrumentSelection(kind="option", target_delta=0.4, days_to_expiry=0),
        sizing=Sizing(quantity=2),
    ),
]
BAD = [
    b"garbage",
    b'{"symbol": "AAPL", "ts": 1795789800000, "bid": 2.0, "ask": 1.0, "last": 1.5}',
    b'{"symbol": "aapl!", "ts": 1795789800000, "bid": 1.0, "ask": 2.0, "last": 1.5}',
]


def run_live(settings: Settings, workers: int = 1) -> None:
    assert settings.kafka_bootstrap_servers is not None
    spec = live_spec(settings, settings.kafka_bootstrap_servers, CONFIGS, bounded=True)
    cli_main(build_flow(spec), workers_per_process=workers)


def other_database(settings: Settings, name: str) -> Settings:
    client = connect(settings.dsn, name)
    migrate(client)
    client.close()
    return settings.model_copy(update={"clickhouse_database": name})


def test_live_flow_writes_every_table_and_dead_letters_bad_input(
    settings: Settings, ch: Client
) -> None:
    ticks = feed_session(settings, ["AAPL", "MSFT"], extra=BAD)
    run_live(settings)
    tables = table_rows(ch, "live")
    assert len(tables["market_ticks"]) == ticks
    for table in ("auto_signals", "auto_decisions", "paper_fills", "position_snapshots"):
        assert tables[table], f"{table} is empty"
    assert tables["daily_performance"]
    assert tables["option_greeks"]
    assert {row[1] for row in tables["auto_trade_state"]} == {"trend", "options"}

    bootstrap = settings.kafka_bootstrap_servers
    assert bootstrap is not None
    dead = [
        DeadLetter.model_validate(v)
        for v in json_values(read_topic(bootstrap, settings.topics.deadletter))
    ]
    assert len(dead) == len(BAD)
    reasons = " | ".join(letter.reason for letter in dead)
    assert "Invalid JSON" in reasons
    assert "crossed quote" in reasons
    assert "pattern" in reasons

    published = [
        Decision.model_validate(v)
        for v in json_values(read_topic(bootstrap, settings.topics.decisions))
    ]
    assert len(published) == len(tables["auto_decisions"])
    signals = [
        Signal.model_validate(v)
        for v in json_values(read_topic(bootstrap, settings.topics.signals))
    ]
    assert {s.signal_id for s in signals} == {row[0] for row in tables["auto_signals"]}


def test_one_worker_and_two_workers_write_the_same_rows(settings: Settings, ch: Client) -> None:
    feed_session(settings, ["AAPL", "MSFT"])
    run_live(settings, workers=1)
    two = other_database(settings, f"{settings.clickhouse_database}_w2")
    run_live(two, workers=2)
    other = connect(two.dsn, two.clickhouse_database)
    try:
        one_worker, two_workers = table_rows(ch, "live"), table_rows(other, "live")
        fingerprints = run_fingerprint(ch, "live"), run_fingerprint(other, "live")
    finally:
        other.command(f"DROP DATABASE `{two.clickhouse_database}`")
        other.close()
    assert one_worker["auto_decisions"]
    assert one_worker == two_workers
    assert fingerprints[0] == fingerprints[1]


def _without_run(rows: dict[str, list[tuple[Any, ...]]], run_id: str) -> dict[str, list[Any]]:
    def scrub(value: Any) -> Any:
        return value.replace(run_id, "RUN") if isinstance(value, str) else value

    return {
        table: sorted(tuple(scrub(v) for v in row) for row in found)
        for table, found in rows.items()
        if table != "backtest_runs"  # the replay's own record; the live run has none
    }


def test_a_live_run_and_a_backtest_replay_of_the_topic_agree(
    settings: Settings, ch: Client
) -> None:
    feed_session(settings, ["AAPL", "MSFT"])
    run_live(settings)
    result = run_backtest(settings, CONFIGS, Source(), bootstrap=settings.kafka_bootstrap_servers)
    live = _without_run(table_rows(ch, "live"), "live")
    replay = _without_run(table_rows(ch, result.run.run_id), result.run.run_id)
    assert live["auto_decisions"]
    assert live == replay
