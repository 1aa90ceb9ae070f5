"""Who may use the control plane: allowed hosts, tokens, browser sessions, and where a change
carried by a browser's cookie comes from.

Every request, HTTP or WebSocket, passes `HostGate` and `AccessGate` (ASGI middleware around
the whole app) before any route runs, so a route added later is closed to strangers by default:
1. Host: the Host header must name an allowed host (`STRIKEFLOW_API_ALLOWED_HOSTS`, loopback by
   default), else 400. A web page that rebinds its own DNS name to 127.0.0.1 is refused here.
2. Public paths (`PUBLIC_PATHS`: liveness, the login, the API's description, and the console's
   page and assets before login) pass without credentials.
3. Credentials: `Authorization: Bearer <token>` (it decides whenever it is sent), or the
   `strikeflow_session` cookie issued by `POST /session`. 401 without either or with an
   expired session, 403 with a wrong token.
4. Role: the read token (`STRIKEFLOW_API_READ_TOKEN`) may read (GET, HEAD, OPTIONS) and watch
   the WebSocket; any other method needs the full token (`STRIKEFLOW_API_TOKEN`), else 403.
5. Origin: a change carried by the cookie must come from the server's own origin or an allowed
   one (`STRIKEFLOW_API_ALLOWED_ORIGINS`): its Origin header says so, or, without one, the
   browser's `Sec-Fetch-Site: same-origin`. Else 403 (cross-site request forgery). A bearer
   token is never attached by a browser on its own, so it needs no such check. A WebSocket's
   Origin, when sent (browsers always send it), must be allowed whatever the credentials.
A refused WebSocket is accepted and closed at once with code 1008 and the reason, which a
client can read (a refused handshake would only show as a failed connection); a wrong Host is
refused at the handshake (400).

Sessions live in this process's memory (a restart logs everyone out) and expire after
`STRIKEFLOW_API_SESSION_HOURS`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from schemas.settings import Settings

SESSION_COOKIE = "strikeflow_session"
# Served without credentials. The Swagger page must load (with its spec) before a token can be
# typed into it; the spec is the shape of an open-source API, not data. The console adds its
# page to PUBLIC_PATHS and its assets' folder to PUBLIC_PREFIXES: what a browser needs to show
# the login, and nothing that carries data.
PUBLIC_PATHS = frozenset({"/health", "/session", "/openapi.json", "/docs", "/redoc", "/"})
PUBLIC_PREFIXES: tuple[str, ...] = ("/console/",)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CLOSE_POLICY_VIOLATION = 1008
SESSION_CAPACITY = 10_000


class Role(StrEnum):
    FULL = "full"
    READ = "read"


@dataclass(frozen=True, slots=True)
class Access:
    """Credentials the gate accepted, kept in the request's state as `access`."""

    role: Role
    by_cookie: bool


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    detail: str


MISSING = Refusal(
    401,
    "missing credentials: send Authorization: Bearer <token>, or log in with POST /session",
)


def _secret(value: SecretStr | None) -> bytes | None:
    return None if value is None else value.get_secret_value().encode()


@dataclass(frozen=True, slots=True)
class Tokens:
    full: bytes | None
    read: bytes | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Tokens:
        return cls(_secret(settings.api_token), _secret(settings.api_read_token))

    def role_of(self, token: str) -> Role | None:
        """The role `token` grants, or None. Both comparisons take constant time."""
        given = token.encode()
        full = self.full is not None and secrets.compare_digest(given, self.full)
        read = self.read is not None and secrets.compare_digest(given, self.read)
        return Role.FULL if full else Role.READ if read else None


@dataclass
class Sessions:
    """Browser sessions: a random id -> its role, until it expires.

    `clock` is monotonic seconds (a wall-clock jump must not end or extend sessions). At most
    `capacity` sessions are kept: past it, the expired and then the oldest go first, so a flood
    of logins cannot grow memory.
    """

    lifetime_seconds: float
    capacity: int = SESSION_CAPACITY
    clock: Callable[[], float] = time.monotonic  # wall-clock ok: session expiry, not trading
    _open: dict[str, tuple[Role, float]] = field(default_factory=dict)

    def open(self, role: Role) -> str:
        now = self.clock()
        if len(self._open) >= self.capacity:
            self._open = {k: v for k, v in self._open.items() if v[1] > now}
            while len(self._open) >= self.capacity:
                del self._open[next(iter(self._open))]
        session_id = secrets.token_urlsafe(32)
        self._open[session_id] = (role, now + self.lifetime_seconds)
        return session_id

    def role(self, session_id: str) -> Role | None:
        found = self._open.get(session_id)
        if found is None:
            return None
        role, expires = found
        if self.clock() >= expires:
            del self._open[session_id]
            return None
        return role

    def close(self, session_id: str) -> None:
        self._open.pop(session_id, None)


def host_name(header: str | None) -> str | None:
    """The host name of a Host header, without port, brackets, case or final dot."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else None
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit():
        value = name
    return value.rstrip(".") or None


def own_origin(scope: Scope, headers: Headers) -> str:
    """The origin a page served by this server has: its scheme and the Host it was asked for."""
    secure = scope.get("scheme") in ("https", "wss")
    return f"{'https' if secure else 'http'}://{headers.get('host', '').lower()}"


@dataclass(frozen=True)
class AccessPolicy:
    """The rules `AccessGate` applies, from the settings; `sessions` is shared with the login."""

    hosts: frozenset[str] | None  # None: any host
    origins: frozenset[str]
    tokens: Tokens
    sessions: Sessions
    public_paths: frozenset[str] = PUBLIC_PATHS
    public_prefixes: tuple[str, ...] = PUBLIC_PREFIXES

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        hosts = settings.api_allowed_hosts
        return cls(
            hosts=None if "*" in hosts else frozenset(hosts),
            origins=frozenset(settings.api_allowed_origins),
            tokens=Tokens.from_settings(settings),
            sessions=Sessions(settings.api_session_hours * 3600),
        )

    def is_public(self, path: str) -> bool:
        return path in self.public_paths or path.startswith(self.public_prefixes)

    def host_allowed(self, header: str | None) -> bool:
        return self.hosts is None or host_name(header) in self.hosts

    def origin_allowed(self, origin: str, scope: Scope, headers: Headers) -> bool:
        origin = origin.lower().rstrip("/")
        return origin in self.origins or origin == own_origin(scope, headers)

    def credentials(self, headers: Headers) -> Access | Refusal | None:
        """What the request's credentials grant: the bearer token when one is sent, else the
        session cookie; None when it sends neither."""
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return MISSING
            if self.tokens.full is None and self.tokens.read is None:
                return Refusal(403, "no API token is configured; only /health is served")
            role = self.tokens.role_of(token.strip())
            return Refusal(403, "invalid bearer token") if role is None else Access(role, False)
        cookie = _cookie(headers, SESSION_COOKIE)
        if cookie is None:
            return None
        role = self.sessions.role(cookie)
        if role is None:
            return Refusal(401, "the session expired or is unknown: log in again (POST /session)")
        return Access(role, True)

    def judge(self, scope: Scope, headers: Headers) -> Access | Refusal | None:
        """The gate's verdict on a request whose host is allowed: the access it has (None on a
        public path without credentials), or why it is refused."""
        found = self.credentials(headers)
        if self.is_public(scope["path"]):
            return found if isinstance(found, Access) else None
        if found is None:
            return MISSING
        if isinstance(found, Refusal):
            return found
        origin = headers.get("origin")
        if scope["type"] == "websocket":
            if origin is not None and not self.origin_allowed(origin, scope, headers):
                return Refusal(403, f"origin {origin} may not open this stream")
            return found
        if scope["method"] in READ_METHODS:
            return found
        if found.role is not Role.FULL:
            return Refusal(403, "the read-only token cannot change anything")
        if found.by_cookie and not self._same_site(origin, scope, headers):
            return Refusal(
                403,
                "a change made with the session cookie must come from this server's pages "
                f"or an allowed origin, not {origin or 'an unknown origin'}",
            )
        return found

    def _same_site(self, origin: str | None, scope: Scope, headers: Headers) -> bool:
        if origin is not None:
            return self.origin_allowed(origin, scope, headers)
        return headers.get("sec-fetch-site") == "same-origin"


def _cookie(headers: Headers, name: str) -> str | None:
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name and value:
                return value
    return None


class HostGate:
    """The ASGI middleware that answers 400 to a request for a host the policy does not serve
    (outermost: before CORS and before the credentials)."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            # every Host header counts: a second one must not slip past behind a first
            hosts = Headers(scope=scope).getlist("host") or [""]
            refused = [host for host in hosts if not self.policy.host_allowed(host)]
            if refused:
                shown = refused[0][:100]
                detail = f"host {shown!r} is not served here (STRIKEFLOW_API_ALLOWED_HOSTS)"
                await JSONResponse({"detail": detail}, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AccessGate:
    """The ASGI middleware that applies the policy's credentials, role and origin rules to
    every request (see the module)."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        verdict = self.policy.judge(scope, Headers(scope=scope))
        if isinstance(verdict, Refusal):
            await _refuse(verdict, scope, receive, send)
            return
        scope.setdefault("state", {})["access"] = verdict
        await self.app(scope, receive, send)


async def _refuse(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        message = await receive()  # the handshake: websocket.connect
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        reason = f"{refusal.status}: {refusal.detail}".encode()[:120].decode(errors="ignore")
        await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION, "reason": reason})
        return
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
    response = JSONResponse({"detail": refusal.detail}, refusal.status, headers=headers)
    await response(scope, receive, send)


SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "STRIKEFLOW_API_TOKEN (everything), STRIKEFLOW_API_READ_TOKEN (reads), "
        "or the token `strikeflow serve` generated into <data_dir>/api-token.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The browser session set by POST /session; a change also needs the "
        "server's own Origin (or an allowed one).",
    },
}


def document_access(spec: dict[str, Any], policy: AccessPolicy, error: dict[str, Any]) -> None:
    """Write the gate's rules into an OpenAPI spec, from the same public paths the gate
    uses: every other operation takes either credential and may answer 401 and 403 (with the
    `error` schema)."""
    components = spec.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    components.setdefault("schemas", {}).setdefault("ErrorResponse", error)
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    refusals = {
        "401": "No credentials, or an expired session.",
        "403": "A wrong token, the read-only token on a change, or a change from a foreign "
        "origin with the session cookie.",
    }
    for path, operations in spec.get("paths", {}).items():
        if policy.is_public(path):
            continue
        for operation in operations.values():
            operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
            answers = operation.setdefault("responses", {})
            for code, description in refusals.items():
                answers[code] = {"description": description, "content": content}
