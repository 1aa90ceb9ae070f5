"""Liveness and readiness.

`/ready` answers 200 when ClickHouse answers a query and the broker knows the control topic,
and, where the live flow runs in this process (`strikeflow serve` on the embedded default),
when its thread is alive. It also reports the flow's heartbeat age: seconds since the flow
last wrote a live market tick (max `ingested_at` of `market_ticks`, run 'live'; null before
the first). A quiet market is not a fault, so the age only fails readiness when the caller
sets `max_heartbeat_age`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import Services, ServicesDep
from schemas.common import LIVE_RUN
from sinks.store.heartbeat import heartbeat_age

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    ready: bool
    clickhouse: bool = Field(description="ClickHouse answered a query.")
    broker: bool = Field(description="The broker answered and has the control topic.")
    flow_thread: bool | None = Field(
        description="The in-process live flow's thread is alive; null when the flow runs "
        "elsewhere (python -m bytewax.run flows.live:flow)."
    )
    heartbeat_age_seconds: float | None = Field(
        description="Seconds since the flow last wrote a live market tick; null if never."
    )


@router.get("/health", summary="Liveness: the process answers")
def health() -> Health:
    return Health()


@router.get(
    "/ready",
    summary="Readiness: ClickHouse, the broker and the flow",
    responses={503: {"model": Readiness, "description": "Not ready; the body says why."}},
)
async def ready(
    found: ServicesDep,
    response: Response,
    max_heartbeat_age: Annotated[
        float | None,
        Query(gt=0, le=86_400 * 7, description="Also require a heartbeat this recent (s)."),
    ] = None,
) -> Readiness:
    # probed once for all the callers of the moment (api/recent.py): a load balancer polling
    # many instances, or fifty dashboards, do not each cost a query and a broker round trip
    clickhouse, age, broker = await found.recent.read("ready", lambda: _probe(found))
    thread = found.flow_alive() if found.flow_alive is not None else None
    fresh = max_heartbeat_age is None or (age is not None and age <= max_heartbeat_age)
    result = Readiness(
        ready=clickhouse and broker and thread is not False and fresh,
        clickhouse=clickhouse,
        broker=broker,
        flow_thread=thread,
        heartbeat_age_seconds=age,
    )
    if not result.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return result


async def _probe(found: Services) -> tuple[bool, float | None, bool]:
    clickhouse, age = await run_in_threadpool(_heartbeat, found)
    return clickhouse, age, await run_in_threadpool(found.broker_reachable)


def _heartbeat(found: Services) -> tuple[bool, float | None]:
    """Whether ClickHouse answered, and the live heartbeat's age in seconds."""
    try:
        return True, heartbeat_age(found.clickhouse, LIVE_RUN)
    except Exception:  # any failure to answer means not ready, whatever the driver raised
        return False, None
