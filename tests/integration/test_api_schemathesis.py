"""Schemathesis against the served OpenAPI spec: no 5xx, and answers that match the spec.

Every operation gets a handful of valid and of invalid requests (hypothesis, derandomised).
Requests carry the token, so the mutating operations run for real (configs, commands,
backtests of an empty ticks topic).

Schemathesis' pytest loader (`schemathesis.pytest.from_fixture`) reads `request.node._nodeid`,
which pytest 9 no longer has, and its requests transport fails on the urllib3 installed here, so
the cases are generated with `as_strategy`, sent with httpx and checked with `validate_response`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from schemas.settings import Settings
from tests.integration.test_api_server import TOKEN, Api, api_settings, served

pytestmark = pytest.mark.integration

EXAMPLES = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

REFUSAL_CHECKS = (not_a_server_error, status_code_conformance)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with served(api_settings(settings)) as running:
        yield running


def send(http: httpx.Client, case: Any) -> httpx.Response:
    """The case over httpx (schemathesis' own requests transport does not work with the
    urllib3 installed here)."""
    sent = case.as_transport_kwargs(headers={"Authorization": f"Bearer {TOKEN}"})
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    elif isinstance(sent.get("data"), str | bytes):
        body["content"] = sent["data"]
    elif "data" in sent:
        body["data"] = sent["data"]
    return http.request(
        sent["method"],
        sent["url"],
        params=sent.get("params"),
        headers=sent.get("headers"),
        **body,
    )


def exercise(http: httpx.Client, operation: Any, mode: GenerationMode, checks: list[Any]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.validate_response(send(http, case), checks=checks)

    run()


def test_no_server_errors_and_answers_match_the_spec(api: Api) -> None:
    schema = schemathesis.openapi.from_dict(api.http.get("/openapi.json").json())
    schema.config.update(base_url=api.url)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the spec has invalid operations"
    assert len(operations) == 31
    for operation in operations:
        checks = CHECKS
        if operation.path == "/ready":  # 503 is its documented answer while not ready
            checks = [check for check in CHECKS if check is not not_a_server_error]
        exercise(api.http, operation, GenerationMode.POSITIVE, checks)
        if not (operation.query or operation.path_parameters or operation.body):
            continue  # nothing to make invalid
        # invalid input must be refused cleanly (a 4xx that the spec lists, never a 5xx)
        refusals = [check for check in checks if check in REFUSAL_CHECKS]
        exercise(api.http, operation, GenerationMode.NEGATIVE, refusals)
