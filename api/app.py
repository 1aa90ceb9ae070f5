"""The control plane's FastAPI application.

`create_app(settings, services)` builds it without connecting to anything; the connections
open in the app's lifespan (when uvicorn starts it) and close when it stops. Mutating calls
need the bearer token (`STRIKEFLOW_API_TOKEN`); reads and the WebSocket do not, so keep the
API on loopback or behind a proxy where the reads are private (the default host is 127.0.0.1).
Errors never carry a stack trace to the client: an unexpected one is logged with its trace and
answered with a generic 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import Services
from api.routers import analytics, backtests, configs, control, health, records
from api.ws import router as ws_router
from schemas.settings import Settings

log = logging.getLogger(__name__)

TAGS = [
    {"name": "health", "description": "Liveness and readiness."},
    {
        "name": "control",
        "description": "Start, stop, pause, resume, reduce-only and kill switch per account: "
        "commands on the control topic (202), and the state the flow applied.",
    },
    {
        "name": "configs",
        "description": "Algorithm configs, versioned; every change is published to the flow.",
    },
    {
        "name": "records",
        "description": "Signals, decisions, fills, alerts (cursor-paged) and positions.",
    },
    {
        "name": "analytics",
        "description": "Daily performance, run metrics, rejections, strategy breakdown.",
    },
    {"name": "backtests", "description": "Launch, follow, cancel and compare replays."},
]

DESCRIPTION = """
Steer and inspect strikeflow's paper trading and backtests.

* **Auth**: every mutating call needs `Authorization: Bearer <token>` (401 without it, 403 with
  a wrong one). Reads are open.
* **Time**: event times are UTC epoch milliseconds; query parameters `from`/`to` also take
  ISO-8601 with a zone. A range spans at most 366 days.
* **Paging**: listings return `{items, next_cursor}`; pass `next_cursor` back as `cursor`.
* **Live events**: WebSocket `/ws?kinds=decision,fill&accounts=...&symbols=...` streams
  signals, decisions, fills and alerts as the flow produces them (see api/ws.py).
"""


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The app for `settings`; `services` (default: built from the settings) are opened by the
    lifespan and closed after it."""
    chosen = services if services is not None else Services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(chosen.open, asyncio.get_running_loop())
        app.state.services = chosen
        try:
            yield
        finally:
            await run_in_threadpool(chosen.close)

    app = FastAPI(
        title="strikeflow control plane",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    for module in (health, control, configs, records, analytics, backtests):
        app.include_router(module.router)
    app.include_router(ws_router)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse(
            {"detail": "internal server error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
        )

    return app
