"""Helpers for tests that run the real flow against the broker and ClickHouse."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, KafkaError, TopicPartition

from flows.sim.feed import TickWriter
from flows.sim.simulator import SimParams, simulate_session
from schemas.settings import Settings
from schemas.tables import TABLE_MODELS, column_names, table_of
from sinks.kafka.admin import ensure_topics, producer, topic_partitions

DAY = date(2026, 11, 27)


def feed_session(
    settings: Settings,
    symbols: list[str],
    ticks_per_minute: float = 5.0,
    partitions: int = 2,
    extra: list[bytes] | None = None,
) -> int:
    """Simulated ticks (plus `extra` raw messages, first) into the settings' ticks topic."""
    bootstrap = settings.kafka_bootstrap_servers
    assert bootstrap is not None
    topics = settings.topics
    ensure_topics(bootstrap, {**topics.partitions(partitions), topics.ticks: partitions})
    kafka = producer(bootstrap)
    for i, value in enumerate(extra or []):
        kafka.produce(topics.ticks, value, b"BAD", partition=i % partitions)
    writer = TickWriter(kafka, topics.ticks, topic_partitions(bootstrap, topics.ticks))
    ticks, _ = simulate_session(symbols, DAY, SimParams(ticks_per_minute=ticks_per_minute))
    writer.write_ticks(ticks)
    writer.finish()
    return len(ticks)


def table_rows(client: Client, run_id: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact table's rows (FINAL), sorted, optionally of one run."""
    result = {}
    for model in TABLE_MODELS:
        table = table_of(model)
        names = column_names(model)
        if "run_id" not in names:
            continue
        columns = ", ".join(f"`{n}`" for n in names)
        where = "run_id = {run:String}" if run_id else "1"
        rows = client.query(
            f"SELECT {columns} FROM {table} FINAL WHERE {where} ORDER BY {columns}",
            parameters={"run": run_id or ""},
        ).result_rows
        result[table] = [tuple(row) for row in rows]
    return result


def read_topic(
    bootstrap: str, topic: str, timeout: float = 10.0
) -> list[tuple[bytes | None, bytes]]:
    """Every message of a topic, reading until each partition's end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "tests",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            # The broker would hold each fetch up to 500 ms waiting for more than a test wrote.
            "fetch.wait.max.ms": 10,
        }
    )
    partitions = topic_partitions(bootstrap, topic)
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    found: list[tuple[bytes | None, bytes]] = []
    ended: set[int] = set()
    import time

    deadline = time.monotonic() + timeout
    while len(ended) < partitions and time.monotonic() < deadline:
        # consume() waits its whole timeout unless 1000 messages come: a short one, many calls.
        for message in consumer.consume(1000, 0.05):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    ended.add(message.partition())
                continue
            found.append((message.key(), message.value()))
    consumer.close()
    return found


def json_values(messages: list[tuple[bytes | None, bytes]]) -> list[dict[str, Any]]:
    return [json.loads(value) for _, value in messages]


def write_session_file(path: Path, symbols: list[str], ticks_per_minute: float = 5.0) -> Path:
    """A simulated session as a Parquet tick file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ticks, _ = simulate_session(symbols, DAY, SimParams(ticks_per_minute=ticks_per_minute))
    table = pa.table(
        {
            "timestamp": pa.array(ticks.ts),
            "symbol": np.array(ticks.symbols)[ticks.codes],
            "bid": ticks.bid,
            "ask": ticks.ask,
            "last": ticks.last,
            "volume": ticks.volume,
        }
    )
    pq.write_table(table, path)
    return path
