"""Who may call the app: hosts, tokens, the read-only role, browser sessions and their origin.

Requests go straight to the ASGI app without its lifespan (nothing connects): the gate decides
before any route runs. A probe route added after the app was built shows that a new route is
closed by default and reports the access the gate granted.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from starlette.datastructures import Headers

from api.app import create_app
from api.auth import MISSING, PUBLIC_PATHS, AccessPolicy, Role, Sessions, host_name
from api.deps import Services
from schemas.settings import Settings
from tests.api.test_api_app import Client

FULL = "full-token"
READ = "read-token"
BEARER = {"Authorization": f"Bearer {FULL}"}
READER = {"Authorization": f"Bearer {READ}"}


def probed_app(**settings: object) -> FastAPI:
    """The app with both tokens, unopened services, and `/probe` routes added afterwards."""
    chosen = Settings(
        kafka_bootstrap_servers="127.0.0.1:9",
        api_token=SecretStr(FULL),
        api_read_token=SecretStr(READ),
        **settings,  # type: ignore[arg-type]
    )
    app = create_app(chosen)
    app.state.services = Services(chosen)

    @app.get("/probe")
    @app.post("/probe")
    def probe(request: Request) -> dict[str, object]:
        access = request.state.access
        return {"role": access.role, "cookie": access.by_cookie}

    return app


@pytest.fixture
def app() -> FastAPI:
    return probed_app()


@pytest.fixture
def client(app: FastAPI) -> Client:
    return Client(app)


def login(client: Client, token: str = FULL) -> str:
    answer = client.post("/session", json={"token": token})
    assert answer.status_code == 204, answer.text
    cookie = answer.headers["set-cookie"]
    return cookie.split(";")[0]


@given(
    name=st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9\-]{0,20}\.){0,3}[a-zA-Z]{1,10}", fullmatch=True),
    port=st.integers(1, 65535),
)
def test_a_host_header_names_its_host_without_port_or_case(name: str, port: int) -> None:
    assert host_name(f"{name}:{port}") == name.lower()
    assert host_name(f"{name.upper()}.") == name.lower()
    assert host_name(f"[::1]:{port}") == "::1"


def test_only_the_allowed_hosts_are_served(client: Client) -> None:
    for host in ("127.0.0.1:8000", "localhost", "LOCALHOST:80", "[::1]:8000"):
        assert client.get("/health", headers={"Host": host}).status_code == 200, host
    for host in ("attacker.example", "attacker.example:8000", "127.0.0.2", "[::2]:8000"):
        refused = client.get("/signals", headers={"Host": host, **BEARER})
        assert refused.status_code == 400, host
        assert "STRIKEFLOW_API_ALLOWED_HOSTS" in refused.json()["detail"]
        assert client.get("/health", headers={"Host": host}).status_code == 400
    anywhere = Client(probed_app(api_allowed_hosts="*"))
    assert anywhere.get("/probe", headers={"Host": "any.example", **BEARER}).status_code == 200
    named = Client(probed_app(api_allowed_hosts="api.example.com"))
    assert named.get("/health", headers={"Host": "api.example.com:8000"}).status_code == 200
    assert named.get("/health").status_code == 400  # localhost is no longer in the list


def test_every_route_but_the_open_ones_needs_a_token_and_changes_need_the_full_one(
    app: FastAPI, client: Client
) -> None:
    paths = {p: ops for p, ops in app.openapi()["paths"].items() if p not in PUBLIC_PATHS}
    assert sum(len(operations) for operations in paths.values()) >= 30
    for template, operations in paths.items():
        path = template.replace("{account_id}", "acct").replace("{run_id}", "run")
        for method in (name.upper() for name in operations):
            missing = client.request(method, path)
            assert missing.status_code == 401, (method, path)
            assert missing.headers["www-authenticate"] == "Bearer"
            wrong = client.request(method, path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 403, (method, path)
            read = client.request(method, path, headers=READER)
            if method == "GET":
                assert read.status_code not in (401, 403), (method, path)
            else:
                assert read.status_code == 403, (method, path)
                assert "read-only" in read.json()["detail"]
    assert client.get("/probe", headers=READER).json() == {"role": "read", "cookie": False}
    assert client.post("/probe", headers=BEARER).json() == {"role": "full", "cookie": False}
    for path in ("/health", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 200, path


def test_openapi_documents_the_credentials_of_every_guarded_operation(app: FastAPI) -> None:
    spec = app.openapi()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["sessionCookie"] == {**schemes["sessionCookie"], "in": "cookie"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in PUBLIC_PATHS:
                assert "security" not in operation, (method, path)
                continue
            assert operation["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_a_login_sets_an_http_only_strict_cookie_that_stands_for_the_token(
    client: Client,
) -> None:
    assert client.post("/session", json={"token": "guess"}).status_code == 403
    assert client.post("/session", json={"token": ""}).status_code == 422
    answer = client.post("/session", json={"token": FULL})
    assert answer.status_code == 204
    name_value, *attributes = answer.headers["set-cookie"].split("; ")
    assert name_value.startswith("strikeflow_session=")
    assert len(name_value.split("=", 1)[1]) >= 40
    assert attributes == ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"]
    assert FULL not in answer.headers["set-cookie"]
    cookie = {"Cookie": name_value}
    assert client.get("/session", headers=cookie).json() == {"role": "full"}
    assert client.get("/probe", headers=cookie).json() == {"role": "full", "cookie": True}
    assert client.get("/session").status_code == 401
    assert client.get("/session", headers=READER).json() == {"role": "read"}
    logged_out = client.delete("/session", headers=cookie)
    assert logged_out.status_code == 204
    assert "Max-Age=0" in logged_out.headers["set-cookie"]
    gone = client.get("/probe", headers=cookie)
    assert gone.status_code == 401
    assert "log in again" in gone.json()["detail"]


def test_a_read_login_reads_but_changes_nothing(client: Client) -> None:
    cookie = {"Cookie": login(client, READ), "Origin": "http://localhost"}
    assert client.get("/session", headers=cookie).json() == {"role": "read"}
    assert client.get("/probe", headers=cookie).status_code == 200
    assert client.post("/probe", headers=cookie).status_code == 403


def test_a_change_with_the_cookie_must_come_from_an_allowed_origin(client: Client) -> None:
    cookie = {"Cookie": login(client)}
    assert client.post("/probe", headers=cookie).status_code == 403  # no Origin, no Fetch hint
    foreign = client.post("/probe", headers={**cookie, "Origin": "http://attacker.example"})
    assert foreign.status_code == 403
    assert "attacker.example" in foreign.json()["detail"]
    cross = client.post("/probe", headers={**cookie, "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    own = client.post("/probe", headers={**cookie, "Origin": "http://localhost"})
    assert own.json() == {"role": "full", "cookie": True}
    hinted = client.post("/probe", headers={**cookie, "Sec-Fetch-Site": "same-origin"})
    assert hinted.status_code == 200
    # a bearer token is never attached by a browser on its own: no origin rule
    assert client.post("/probe", headers={**BEARER, "Origin": "http://x.example"}).is_success
    # a foreign page may not log a browser in either
    planted = client.post(
        "/session", json={"token": FULL}, headers={"Origin": "http://attacker.example"}
    )
    assert planted.status_code == 403


def test_an_allowed_origin_may_use_the_cookie_across_origins() -> None:
    other = "https://grafana.example.com"
    client = Client(probed_app(api_allowed_origins=other))
    cookie = {"Cookie": login(client)}
    assert client.post("/probe", headers={**cookie, "Origin": other}).status_code == 200
    preflight = {"Origin": other, "Access-Control-Request-Method": "POST"}
    allowed = client.request("OPTIONS", "/probe", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == other
    assert allowed.headers["access-control-allow-credentials"] == "true"
    stranger = {**preflight, "Origin": "https://attacker.example"}
    refused = client.request("OPTIONS", "/probe", headers=stranger)
    assert "access-control-allow-origin" not in refused.headers


def test_sessions_expire_and_are_secure_behind_https(app: FastAPI, client: Client) -> None:
    cookie = {"Cookie": login(client)}
    sessions: Sessions = app.state.access_policy.sessions
    started = sessions.clock()
    sessions.clock = lambda: started + 12 * 3600 + 1
    assert client.get("/probe", headers=cookie).status_code == 401

    async def secure_login() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://localhost") as http:
            return await http.post("/session", json={"token": FULL})

    assert asyncio.run(secure_login()).headers["set-cookie"].endswith("; Secure")


def test_sessions_are_bounded_oldest_first_and_end_at_their_expiry() -> None:
    now = [0.0]
    sessions = Sessions(lifetime_seconds=10.0, capacity=3, clock=lambda: now[0])
    first = sessions.open(Role.FULL)
    second = sessions.open(Role.READ)
    now[0] = 5.0
    third = sessions.open(Role.FULL)
    assert sessions.role(second) is Role.READ
    fourth = sessions.open(Role.FULL)  # full: the oldest goes
    assert sessions.role(first) is None
    assert sessions.role(fourth) is Role.FULL
    now[0] = 10.0
    assert sessions.role(second) is None  # expired at 0 + 10
    assert sessions.role(third) is Role.FULL
    sessions.close(third)
    assert sessions.role(third) is None


def test_settings_refuse_a_wildcard_origin_and_a_shared_read_token() -> None:
    with pytest.raises(ValueError, match="not an origin"):
        Settings(api_allowed_origins="*")
    with pytest.raises(ValueError, match="not an origin"):
        Settings(api_allowed_origins="https://ok.example/path")
    with pytest.raises(ValueError, match="must differ"):
        Settings(api_token=SecretStr("same"), api_read_token=SecretStr("same"))
    with pytest.raises(ValueError, match="at least one host"):
        Settings(api_allowed_hosts=" , ")


def test_public_prefixes_open_a_folder_and_nothing_beside_it() -> None:
    settings = Settings(api_token=SecretStr(FULL))
    policy = replace(AccessPolicy.from_settings(settings), public_prefixes=("/console/",))
    none = Headers({})

    def verdict(path: str) -> object:
        return policy.judge({"type": "http", "method": "GET", "path": path}, none)

    assert verdict("/console/app.js") is None  # passes, anonymous
    assert verdict("/console") == MISSING
    assert verdict("/consoles/app.js") == MISSING
    assert verdict("/signals") == MISSING
