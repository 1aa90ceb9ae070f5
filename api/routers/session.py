"""Browser login: a session cookie for the token, so that no token sits in a page or a URL.

`POST /session {"token": ...}` answers 204 with
`Set-Cookie: strikeflow_session=<random id>; HttpOnly; SameSite=Strict; Path=/; Max-Age=...`
(and `Secure` when the request came over https). The cookie then stands for the token's role
(`full` or `read`) until `STRIKEFLOW_API_SESSION_HOURS` pass or `DELETE /session`. Scripts
keep using `Authorization: Bearer <token>`. See api/auth.py for what the cookie may do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import SESSION_COOKIE, Access, AccessPolicy, Role
from api.deps import BODY_RESPONSES, error_response

router = APIRouter(prefix="/session", tags=["session"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=1, max_length=512, description="An API token.")]


class SessionRole(BaseModel):
    role: Role = Field(description="full: reads and changes; read: reads and the stream.")


def _policy(request: Request) -> AccessPolicy:
    found: AccessPolicy = request.app.state.access_policy
    return found


@router.post(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log in: a session cookie for an API token",
    responses={
        **BODY_RESPONSES,
        **error_response(403, "A wrong token, or a login from a foreign web page."),
    },
)
async def login(request: Request, body: Login) -> Response:
    policy = _policy(request)
    origin = request.headers.get("origin")
    if origin is not None and not policy.origin_allowed(origin, request.scope, request.headers):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"origin {origin} may not log in here")
    role = policy.tokens.role_of(body.token)
    if role is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid token")
    session_id = policy.sessions.open(role)
    cookie = (
        f"{SESSION_COOKIE}={session_id}; HttpOnly; SameSite=Strict; Path=/; "
        f"Max-Age={int(policy.sessions.lifetime_seconds)}"
    )
    if request.url.scheme == "https":
        cookie += "; Secure"
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"Set-Cookie": cookie})


@router.get(
    "",
    summary="The role of the credentials sent (cookie or bearer token)",
    responses=error_response(401, "Not logged in (or the session expired)."),
)
async def current(request: Request) -> SessionRole:
    access: Access | None = request.state.access
    if access is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "not logged in", headers={"WWW-Authenticate": "Bearer"}
        )
    return SessionRole(role=access.role)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, summary="Log out")
async def logout(request: Request) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        _policy(request).sessions.close(session_id)
    expired = f"{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"Set-Cookie": expired})
