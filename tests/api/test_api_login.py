"""A real server closed to strangers: tokens, the browser login and the WebSocket's origin.

The WebSocket refuses by closing with 1008 and a reason the client reads; a wrong Host is
refused at the handshake (400), before any credentials are looked at.
"""

from __future__ import annotations

import json
import socket

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from schemas.trading import Signal
from tests.api.test_api_security import seed_signals
from tests.api.test_api_server import READ_TOKEN, Api, trading_config

pytestmark = pytest.mark.integration

READER = {"Authorization": f"Bearer {READ_TOKEN}"}


def session_cookie(api: Api, token: str) -> str:
    answer = api.anonymous.post("/session", json={"token": token})
    assert answer.status_code == 204, answer.text
    api.anonymous.cookies.clear()  # stays anonymous: the tests send the cookie themselves
    return answer.headers["set-cookie"].split(";")[0]


def refusal(api: Api, origin: str | None = None, **headers: str) -> tuple[int, str]:
    """Open /ws and return the close code and reason the server sent."""
    url = f"{api.ws_url}/ws"
    with (
        connect(url, additional_headers=headers, origin=origin) as stream,
        pytest.raises(ConnectionClosed) as closed,
    ):
        stream.recv(timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def subscribed(api: Api, origin: str | None = None, **headers: str) -> bool:
    with connect(f"{api.ws_url}/ws", additional_headers=headers, origin=origin) as stream:
        return bool(json.loads(stream.recv(timeout=10))["type"] == "subscribed")


def test_the_stream_needs_credentials_and_an_allowed_origin(api: Api) -> None:
    code, reason = refusal(api)
    assert code == 1008
    assert reason.startswith("401")
    code, reason = refusal(api, Authorization="Bearer wrong")
    assert (code, reason[:3]) == (1008, "403")
    code, reason = refusal(api, "http://attacker.example", **api.auth)
    assert code == 1008
    assert "attacker.example" in reason
    assert subscribed(api, **api.auth)  # a program: no Origin
    assert subscribed(api, **READER)
    cookie = session_cookie(api, READ_TOKEN)
    assert subscribed(api, api.url, Cookie=cookie)  # the console's own page
    code, _ = refusal(api, "http://localhost:1", Cookie=cookie)
    assert code == 1008
    port = int(api.url.rsplit(":", 1)[1])
    for url, extra in (
        (f"ws://rebound.example:{port}/ws", {}),  # a page whose DNS name now points here
        (f"{api.ws_url}/ws", {"Host": "rebound.example"}),  # a second Host header
    ):
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            pytest.raises(InvalidStatus) as rebound,
        ):
            connect(url, sock=raw, additional_headers={**api.auth, **extra})
        assert rebound.value.response.status_code == 400


def test_reads_need_a_token_and_the_read_token_changes_nothing(api: Api) -> None:
    seed_signals(api.settings, "login", "alice", 3)
    params = {"run": "login"}
    assert api.anonymous.get("/signals", params=params).status_code == 401
    assert api.anonymous.get("/health").json() == {"status": "ok"}
    read = api.anonymous.get("/signals", params=params, headers=READER)
    assert len([Signal.model_validate(s) for s in read.json()["items"]]) == 3
    change = api.anonymous.post("/configs", json=trading_config("reader"), headers=READER)
    assert change.status_code == 403
    rebound = api.http.get("/signals", params=params, headers={"Host": "rebound.example"})
    assert rebound.status_code == 400


def test_a_browser_session_reads_and_changes_from_its_own_origin(api: Api) -> None:
    cookie = {"Cookie": session_cookie(api, "s3cret-token-for-tests")}
    assert api.anonymous.get("/session", headers=cookie).json() == {"role": "full"}
    assert api.anonymous.get("/configs", headers=cookie).status_code == 200
    body = trading_config("browser")
    forged = api.anonymous.post("/configs", json=body, headers=cookie)
    assert forged.status_code == 403
    own = api.anonymous.post("/configs", json=body, headers={**cookie, "Origin": api.url})
    assert own.status_code == 201, own.text
    assert api.anonymous.delete("/session", headers=cookie).status_code == 204
    assert api.anonymous.get("/configs", headers=cookie).status_code == 401
