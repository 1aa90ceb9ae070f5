"""The whole flow against the real broker and the real ClickHouse engine: what it writes, what
it refuses, and that the same input gives the same rows however it is run.

One session (with bad messages among the ticks) is fed and run live once for the module; each
test compares that run with another way of running the same topic (two workers, a backtest
replay), rather than feeding and running it again itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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
from schemas.settings import Settings, Topics
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


@dataclass(frozen=True)
class LiveRun:
    """The module's one live run: its settings, the valid ticks fed, what it wrote to
    ClickHouse (run 'live') and to its topics, read right after it stopped."""

    settings: Settings
    ticks: int
    tables: dict[str, list[tuple[Any, ...]]]
    dead: list[DeadLetter]
    published: list[Decision]
    signals: list[Signal]


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, chdb_dsn: str, kafka_bootstrap: str, module_ch: Client
) -> LiveRun:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("flow_kafka"),
        clickhouse_dsn=chdb_dsn,
        clickhouse_database=module_ch.database,
        kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(**{name: f"{name}.{suffix}" for name in Topics.model_fields}),
    )
    ticks = feed_session(settings, ["AAPL", "MSFT"], extra=BAD)
    run_live(settings)

    def topic(name: str) -> list[dict[str, Any]]:
        return json_values(read_topic(kafka_bootstrap, getattr(settings.topics, name)))

    return LiveRun(
        settings=settings,
        ticks=ticks,
        tables=table_rows(module_ch, "live"),
        dead=[DeadLetter.model_validate(v) for v in topic("deadletter")],
        published=[Decision.model_validate(v) for v in topic("decisions")],
        signals=[Signal.model_validate(v) for v in topic("signals")],
    )


def test_live_flow_writes_every_table_and_dead_letters_bad_input(live: LiveRun) -> None:
    tables = live.tables
    assert len(tables["market_ticks"]) == live.ticks
    for table in ("auto_signals", "auto_decisions", "paper_fills", "position_snapshots"):
        assert tables[table], f"{table} is empty"
    assert tables["daily_performance"]
    assert tables["option_greeks"]
    assert {row[1] for row in tables["auto_trade_state"]} == {"trend", "options"}

    assert len(live.dead) == len(BAD)
    reasons = " | ".join(letter.reason for letter in live.dead)
    assert "Invalid JSON" in reasons
    assert "crossed quote" in reasons
    assert "pattern" in reasons

    assert len(live.published) == len(tables["auto_decisions"])
    assert {s.signal_id for s in live.signals} == {row[0] for row in tables["auto_signals"]}


def test_one_worker_and_two_workers_write_the_same_rows(live: LiveRun, module_ch: Client) -> None:
    two = other_database(live.settings, f"{live.settings.clickhouse_database}_w2")
    run_live(two, workers=2)
    other = connect(two.dsn, two.clickhouse_database)
    try:
        two_workers = table_rows(other, "live")
        fingerprints = run_fingerprint(module_ch, "live"), run_fingerprint(other, "live")
    finally:
        other.command(f"DROP DATABASE `{two.clickhouse_database}`")
        other.close()
    assert live.tables["auto_decisions"]
    assert live.tables == two_workers
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
    live: LiveRun, module_ch: Client
) -> None:
    settings = live.settings
    result = run_backtest(settings, CONFIGS, Source(), bootstrap=settings.kafka_bootstrap_servers)
    replay = _without_run(table_rows(module_ch, result.run.run_id), result.run.run_id)
    assert live.tables["auto_decisions"]
    assert _without_run(live.tables, "live") == replay
