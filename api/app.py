"""The control plane's FastAPI application.

`create_app(settings, services)` builds it without connecting to anything; the connections
open in the app's lifespan (when uvicorn starts it) and close when it stops. Every request
passes the access rules of api/auth.py first (allowed hosts, a token or a login, the read-only
role, the origin of a browser's changes); only `/health`, the login and the API's description
are open. Errors never carry a stack trace to the client: an unexpected one is logged with its
trace and answered with a generic 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from api.auth import AccessGate, AccessPolicy, HostGate, document_access
from api.bodies import StandardJson
from api.deps import ErrorResponse, Services
from api.routers import (
    analytics,
    backtests,
    commands,
    configs,
    console,
    control,
    files,
    health,
    metrics,
    orders,
    records,
    research,
    series,
    session,
)
from api.timing import RequestTiming
from api.ws import router as ws_router
from schemas.settings import Settings

log = logging.getLogger(__name__)

TAGS = [
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics."},
    {"name": "session", "description": "Browser login: a session cookie for a token."},
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
        "name": "orders",
        "description": "Orders as their latest state and status history (cursor-paged), and "
        "cancelling a resting live order (a cancel_order command on the control topic, 202).",
    },
    {
        "name": "analytics",
        "description": "Daily performance, run metrics, rejections, strategy breakdown.",
    },
    {"name": "backtests", "description": "Launch, follow, cancel and compare replays."},
]

DESCRIPTION = """
Steer and inspect strikeflow's paper trading and backtests.

* **Auth**: every call but `/health` needs `Authorization: Bearer <token>` or the session
  cookie of `POST /session` (401 without, 403 with a wrong token). The read-only token
  (`STRIKEFLOW_API_READ_TOKEN`) may read and watch `/ws`; changes need the full token, and,
  with the cookie, this server's own Origin. Only the allowed hosts are served (400).
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
    routers = [
        module.router
        for module in (
            health,
            metrics,
            session,
            control,
            commands,
            configs,
            records,
            orders,
            analytics,
            series,
            backtests,
            research,
            files,
        )
    ]
    for router in routers:
        app.include_router(router)
    app.include_router(ws_router)
    console.mount(app)
    guard(app, settings)
    # outermost: refused requests are timed too, under the route they asked for
    app.add_middleware(RequestTiming, routes=[r for router in routers for r in router.routes])

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse(
            {"detail": "internal server error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
        )

    return app


def guard(app: FastAPI, settings: Settings) -> None:
    """Put the access rules and the JSON body rules in front of every route, and the access
    rules in the OpenAPI spec."""
    policy = AccessPolicy.from_settings(settings)
    app.state.access_policy = policy
    # Starlette runs the middleware added last first: hosts, then CORS, then credentials, and
    # only then is a body read (a stranger's is never parsed).
    app.add_middleware(StandardJson)
    app.add_middleware(AccessGate, policy=policy)
    if policy.origins:  # pages of these origins may call the API with the operator's login
        app.add_middleware(
            CORSMiddleware,
            allow_origins=sorted(policy.origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(HostGate, policy=policy)
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        spec = plain_openapi()  # built once and kept by FastAPI; documented once here
        if "securitySchemes" not in spec.get("components", {}):
            document_access(spec, policy, ErrorResponse.model_json_schema())
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
