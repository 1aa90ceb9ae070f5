"""The web console: static pages and scripts under `/console/`, and `/` leading to it.

The console is plain ES modules (no build step) in api/console/, served as files; it holds no
data and no token, so its files are public (api/auth.py) and everything it shows comes from
the same REST endpoints and WebSocket as any client, after the login at `POST /session`.
Its pages may load only this server's own scripts and talk only to this server: the
Content-Security-Policy says so, which makes an injected script tag or a foreign fetch inert.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
PREFIX = "/console"
# lightweight-charts sets element styles from script, which style-src must allow
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


class ConsoleFiles(StaticFiles):
    """StaticFiles with the console's security headers on every answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", POLICY.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, with_headers)


def mount(app: FastAPI) -> None:
    """Serve the console's files at `/console/` and send `/` there."""
    app.include_router(router)
    app.mount(PREFIX, ConsoleFiles(directory=CONSOLE_DIR, html=True), name="console")
