"""Prometheus metrics scraped from real processes while they run.

- `strikeflow serve --feed --processes 2`: the API's `/metrics` carries the flow's counters (its
  first process runs in the same process, and adds up the second's), the ClickHouse sink's, the
  consumer lag of every partition, whichever process reads it, and the API's own request
  times; it needs a token like every read. (`serve` in one process is scraped by
  tests/dashboards/test_pipeline_queries.py.)
- `python -m bytewax.run flows.live:flow` with `BYTEWAX_DATAFLOW_API_ENABLED=true`: Bytewax's own
  endpoint serves the same strikeflow metrics beside its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.runtime.broker import free_port
from schemas.settings import Settings, Topics
from tests.api.test_api_serve import serving, start_serve, written_token
from tests.api.test_api_server import eventually, trading_config
from tests.flows_support import feed_session

pytestmark = pytest.mark.integration

Scrape = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Scrape:
    """Every sample of a scrape by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(
    scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    return sum(
        value
        for (sample, have), value in scrape.items()
        if sample == name and set(labels.items()) <= set(have)
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def test_serve_in_two_processes_exposes_the_pipeline_and_the_api_to_prometheus(
    tmp_path: Path,
) -> None:
    port = free_port()
    process, log = start_serve(tmp_path, port, options=("--processes", "2"))
    token_file = tmp_path / "api-token"
    try:
        token = written_token(token_file, timeout=120)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            eventually(lambda: serving(http, process, log), timeout=120, what="serve to answer")
            assert http.get("/metrics").status_code == 401  # a read like any other
            assert http.post("/configs", json=trading_config("scraped"), headers=auth).is_success
            assert http.post("/accounts/scraped/start", headers=auth).is_success

            def traded() -> Scrape | None:
                answer = http.get("/metrics", headers=auth)
                assert answer.status_code == 200
                assert answer.headers["content-type"].startswith("text/plain")
                scrape = samples(answer.text)
                decided = total(scrape, "strikeflow_decisions_total")
                written = total(scrape, "strikeflow_rows_written_total", table="auto_decisions")
                return scrape if decided > 0 and written > 0 else None

            scrape = eventually(traded, timeout=120, what="decisions counted and written")
    finally:
        stop(process)

    assert total(scrape, "strikeflow_ticks_in_total") > 0
    assert total(scrape, "strikeflow_rows_written_total", table="market_ticks") > 0
    assert total(scrape, "strikeflow_insert_seconds_count", table="market_ticks") > 0
    assert total(scrape, "strikeflow_decision_delay_seconds_count") == total(
        scrape, "strikeflow_decisions_total"
    )
    # The simulated feed stamps ticks as it sends them: decisions trail by seconds, not days.
    assert total(scrape, "strikeflow_decision_delay_seconds_bucket", le="60.0") > 0
    lags = [dict(labels) for name, labels in scrape if name == "strikeflow_consumer_lag_messages"]
    topics = Topics()
    assert {lag["topic"] for lag in lags} >= {topics.ticks, topics.control}
    # Every partition has its reader in one of the two processes: all are counted here.
    read = {int(lag["partition"]) for lag in lags if lag["topic"] == topics.ticks}
    assert read == set(range(Settings().ticks_partitions))
    assert [key for key in scrape if key[0] == "strikeflow_watermark_delay_seconds"]
    assert [key for key in scrape if key[0] == "strikeflow_sink_queue_batches"]
    timed = total(scrape, "strikeflow_api_request_seconds_count", route="/metrics", status="401")
    assert timed >= 1
    assert total(scrape, "strikeflow_api_request_seconds_count", route="/configs") >= 1


def test_the_flow_alone_serves_its_metrics_on_bytewax_endpoint(
    settings: Settings, tmp_path: Path
) -> None:
    feed_session(settings, ["AAPL", "MSFT"], ticks_per_minute=4)
    port = free_port()
    env = {
        **os.environ,
        "STRIKEFLOW_DATA_DIR": str(tmp_path),
        "STRIKEFLOW_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'clickhouse'}",
        "STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "BYTEWAX_DATAFLOW_API_ENABLED": "true",
        "BYTEWAX_DATAFLOW_API_PORT": str(port),
        # Bytewax writes the graph it serves (dataflow.json) there, by default into the
        # working directory.
        "BYTEWAX_DATAFLOW_API_CACHE_PATH": str(tmp_path),
    }
    for field in type(settings.topics).model_fields:
        env[f"STRIKEFLOW_TOPIC_{field.upper()}"] = getattr(settings.topics, field)
    log = tmp_path / "flow.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bytewax.run", "flows.live:flow"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:

        def read_all() -> Scrape | None:
            if process.poll() is not None:
                raise AssertionError(f"the flow exited:\n{log.read_text()}")
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            except httpx.TransportError:
                return None
            scrape = samples(answer.text)
            lag = total(scrape, "strikeflow_consumer_lag_messages", topic=settings.topics.ticks)
            written = total(scrape, "strikeflow_rows_written_total", table="market_ticks")
            return scrape if written > 0 and lag == 0 else None

        scrape = eventually(read_all, timeout=120, what="the flow to read every tick")
    finally:
        stop(process)
    channels = {
        dict(labels)["channel"] for name, labels in scrape if name == "strikeflow_ticks_in_total"
    }
    assert channels == {f"{settings.topics.ticks}:0", f"{settings.topics.ticks}:1"}
    assert total(scrape, "strikeflow_ticks_in_total") == total(
        scrape, "strikeflow_rows_written_total", table="market_ticks"
    )
