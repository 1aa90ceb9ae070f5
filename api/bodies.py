"""JSON request bodies as the standard has them: finite numbers only, and not too large.

Python's JSON reader accepts `NaN`, `Infinity` and `-Infinity`, and reads `1e400` as infinity;
RFC 8259 allows none of them, no trade can be sized by them, and FastAPI's 422 answer echoes
the input, which the JSON writer then refuses (a 500). `StandardJson` (an ASGI middleware)
reads every JSON body before any route does and answers 422 to one that holds such a number,
saying which, and 413 to one larger than `MAX_JSON_BYTES`. Other bodies (uploads) pass
untouched; malformed JSON passes too and gets FastAPI's own 422.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_BYTES = 1 << 20  # a backtest of 200 configs is about 200 kB


class NonFiniteNumberError(ValueError):
    """A JSON number that is not a finite double: its text as sent."""


def _constant(text: str) -> Any:
    raise NonFiniteNumberError(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumberError(text)
    return value


def non_finite_number(body: bytes) -> str | None:
    """The first number in `body` that is not a finite double (`NaN`, `Infinity`, `1e400`),
    or None (also when the body is not JSON at all: that is for the route to say)."""
    try:
        json.loads(body, parse_constant=_constant, parse_float=_finite)
    except NonFiniteNumberError as error:
        return str(error)
    except (ValueError, RecursionError):
        return None
    return None


def _is_json(headers: Headers) -> bool:
    """Whether FastAPI would read the body as JSON (no content type is read as JSON too)."""
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("", "application/json") or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _unprocessable(number: str) -> JSONResponse:
    shown = number[:40]
    problem = {
        "type": "finite_number",
        "loc": ["body"],
        "msg": f"{shown} is not a finite number: JSON numbers must be finite",
        "input": shown,
    }
    return JSONResponse({"detail": [problem]}, status_code=422)


class StandardJson:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD")
            or not _is_json(Headers(scope=scope))
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_JSON_BYTES:
                detail = f"the JSON body is larger than {MAX_JSON_BYTES // 1024} KiB"
                await JSONResponse({"detail": detail}, 413)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        number = non_finite_number(body) if body else None
        if number is not None:
            await _unprocessable(number)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the client's next messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
