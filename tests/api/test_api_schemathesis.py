"""Schemathesis' own CLI against the served OpenAPI spec of a real server: no 5xx, and answers
that match the spec.

The server runs in this process (chdb allows one engine per process); `schemathesis run`, in a
subprocess, sends every operation examples, boundary cases (coverage) and random valid and
invalid requests (fuzzing), derandomised, with the full token, so the mutating operations run
for real (configs, commands, backtests of an empty ticks topic).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from schemas.settings import Settings
from tests.api.test_api_server import TOKEN, Api, api_settings, served

pytestmark = [pytest.mark.integration, pytest.mark.long(60)]

CONFIG = """
cache.enabled = false  # each run starts from nothing: no crash replays, no files left behind

[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true

# /ready answers 503, as documented, while it is not ready (no live tick was ever written here)
[[operations]]
include-path = "/ready"
checks.not_a_server_error.expected-statuses = [200, 405, 422, 503]

# A valid PUT stores a config version in ClickHouse and publishes a command (about 75 ms each):
# the coverage phase's ~325 valid boundary bodies were a third of this test's time. They keep
# the invalid ones (422, every field's bounds), and fuzzing sends 30 valid and invalid bodies
# instead of 5, so valid configs are still stored and echoed against the spec.
[[operations]]
include-path = "/configs/{account_id}"
include-method = "PUT"
phases.coverage.generation.mode = "negative"
phases.fuzzing.generation.max-examples = 30
"""


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with served(api_settings(settings)) as running:
        yield running


def test_no_server_errors_and_answers_match_the_spec(api: Api, tmp_path: Path) -> None:
    spec = api.http.get("/openapi.json").json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    # The first 35, GET /metrics, GET /analytics/runs/{run}/fingerprint, the research pair
    # (walk-forward, Monte Carlo), and the console's GET /series/equity, /series/rejections,
    # GET /files and PUT /files/{name}; the orders' GET /orders, GET /orders/{order_id},
    # POST /orders/{order_id}/cancel and POST /orders/{order_id}/replace.
    assert operations == 47
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(config),
        "run", f"{api.url}/openapi.json",
        "--header", f"Authorization: Bearer {TOKEN}",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "5",
        "--generation-deterministic",
        "--workers", "1",
        "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert f"{operations} selected / {operations} total" in run.stdout, run.stdout[-3000:]
    assert httpx.get(f"{api.url}/health").status_code == 200  # the server lived through it
