"""Every query of the Pipeline dashboard runs in a real Prometheus that scraped a running
strikeflow, and the panels that must show something do.

Debian's Prometheus (`make test` installs it) scrapes `strikeflow serve --feed` (flow and API in
one process) with the committed scrape config, its targets and token file pointed at this test's
server. Grafana cannot run here: the expressions are evaluated through Prometheus' query API,
which is what Grafana's Prometheus datasource calls.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api.runtime.broker import free_port
from dashboards.definitions.pipeline import pipeline
from tests.api.test_api_serve import serving, start_serve, written_token
from tests.api.test_api_server import eventually, trading_config
from tests.paths import REPO
from tests.test_metrics_scrape import stop

pytestmark = pytest.mark.integration

PROMETHEUS = shutil.which("prometheus")
PANELS = pipeline().metric_panels


def scrape_config(api_port: int, token_file: Path) -> dict[str, Any]:
    """The committed config, scraping this test's server every second."""
    config: dict[str, Any] = yaml.safe_load(
        (REPO / "dashboards/prometheus/prometheus.yml").read_text()
    )
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api = jobs["strikeflow-api"]
    api["static_configs"] = [{"targets": [f"127.0.0.1:{api_port}"]}]
    api["authorization"]["credentials_file"] = str(token_file)
    # The flow runs inside serve here: its metrics come with the API's.
    config["scrape_configs"] = [api]
    return config


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert PROMETHEUS is not None, "prometheus is missing: `make test` installs Debian's package"
    root = tmp_path_factory.mktemp("pipeline")
    api_port, prometheus_port = free_port(), free_port()
    serve, log = start_serve(root, api_port)
    token_file = root / "api-token"
    prometheus_process = None
    try:
        token = written_token(token_file, timeout=120)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers=auth) as http:
            eventually(lambda: serving(http, serve, log), timeout=120, what="serve to answer")
            assert http.post("/configs", json=trading_config("piped")).is_success
            assert http.post("/accounts/piped/start").is_success
        config = root / "prometheus.yml"
        config.write_text(yaml.safe_dump(scrape_config(api_port, token_file)))
        prometheus_process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(root / "prometheus.log").open("w"),
        )
        query = Query(f"http://127.0.0.1:{prometheus_port}")
        eventually(
            lambda: query.values("strikeflow_decisions_total") or None,
            timeout=180,
            what="Prometheus to scrape the first decisions",
        )
        # Rates over a minute need two samples of a counter after it first moved.
        eventually(
            lambda: query.values("rate(strikeflow_decisions_total[1m])") or None,
            timeout=60,
            what="a decision rate",
        )
        yield query
    finally:
        if prometheus_process is not None:
            prometheus_process.terminate()
            prometheus_process.wait(30)
        stop(serve)


class Query:
    """Prometheus' instant query API, as Grafana's datasource calls it."""

    def __init__(self, url: str):
        self.url = url

    def run(self, expr: str) -> dict[str, Any]:
        try:
            answer = httpx.post(f"{self.url}/api/v1/query", data={"query": expr}, timeout=10)
        except httpx.TransportError:
            return {"status": "unreachable", "data": {"result": []}}
        if not answer.headers.get("content-type", "").startswith("application/json"):
            # Prometheus answers 503 in plain text until its storage is open
            return {"status": f"HTTP {answer.status_code}", "data": {"result": []}}
        body: dict[str, Any] = answer.json()
        return body

    def values(self, expr: str) -> list[float]:
        body = self.run(expr)
        if body["status"] != "success":
            return []
        return [float(item["value"][1]) for item in body["data"]["result"]]


@pytest.mark.parametrize("panel", PANELS, ids=[panel.title for panel in PANELS])
def test_every_pipeline_query_runs_and_shows_what_it_should(prometheus: Query, panel: Any) -> None:
    for series in panel.series:
        body = prometheus.run(series.expr)
        assert body["status"] == "success", (series.expr, body)
        if panel.expect_series:
            assert body["data"]["result"], f"{panel.title}: {series.expr} returned no series"


def test_the_pipeline_reads_what_the_flow_did(prometheus: Query) -> None:
    ticks = prometheus.values(
        'sum(rate(strikeflow_ticks_in_total{channel=~"market.ticks:.*"}[1m]))'
    )
    assert ticks
    assert ticks[0] > 0
    (p99,) = prometheus.values(
        # over every decision so far: a rate is NaN over a window without a new decision
        "histogram_quantile(0.99, sum by (le) (strikeflow_decision_delay_seconds_bucket))"
    )
    assert 0 < p99 <= 60  # the simulated feed stamps ticks as it sends them
    written = prometheus.values('strikeflow_rows_written_total{table="auto_decisions"}')
    assert written
    assert written[0] > 0
