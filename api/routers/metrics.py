"""`GET /metrics`: the pipeline's and the API's metrics in Prometheus' text format.

Everything in prometheus_client's default registry: the flow's counters when it runs in this
process (`strikeflow serve`), the ClickHouse sink's, the API's request times, and the Python
process' own. Like every read it needs a token (the read-only one is enough): Prometheus sends
it with `authorization: {credentials_file: ...}` in its scrape config.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
def metrics() -> Response:
    """Prometheus metrics of this process (text exposition format 0.0.4)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
