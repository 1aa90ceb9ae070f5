"""Timing every API request for Prometheus (`strikeflow_api_request_seconds`).

A plain ASGI middleware, not Starlette's BaseHTTPMiddleware, so it adds no task or body copy per
request. It sits outside every other middleware, so refused requests (401, 400 for a host) are
timed too. Routes are labelled by their template (`/accounts/{account_id}/state`), also when a
gate refused the request before routing, and anything no route matches as `unmatched`, so a
scanner cannot grow the label set without bound.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sinks.metrics import API_REQUESTS


class RequestTiming:
    """`routes` are the app's own routes, matched only for requests a gate refused."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]):
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before it starts a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            API_REQUESTS.labels(scope["method"], self.route_of(scope), str(status)).observe(
                time.perf_counter() - started
            )

    def route_of(self, scope: Scope) -> str:
        """The template of the route that served the request, or would have, had a gate let it
        by."""
        route = scope.get("route")
        if route is None:
            matching = (r for r in self.routes if r.matches(scope)[0] != Match.NONE)
            route = next(matching, None)
        return str(getattr(route, "path", "unmatched"))
