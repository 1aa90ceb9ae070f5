"""The publisher sends the documented Grafana API calls and, when nothing changed, no writes.

Grafana cannot run here, so the publisher talks to a stand-in: a real HTTP server on a loopback
port that implements the few endpoints the publisher calls (build info, datasources by uid,
folders, dashboards by uid and POST /api/dashboards/db) the way Grafana's HTTP API documents
them, including bearer-token auth and write-only datasource secrets, and records every request.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from dashboards.definitions import dashboards
from dashboards.model import DATASOURCE_UID, PROMETHEUS_UID
from dashboards.provision import FOLDER_TITLE, FOLDER_UID, ClickHouseServer
from dashboards.publish import GrafanaError, publish

pytestmark = pytest.mark.integration

TOKEN = "glsa_test_token"
SERVER = ClickHouseServer(host="clickhouse", port=9000, username="grafana")
# Without a Prometheus URL, the Pipeline dashboard (Prometheus) is left out.
MODELS = [dashboard.to_json() for dashboard in dashboards() if not dashboard.metric_panels]
UIDS = [model["uid"] for model in MODELS]
EVERYTHING = [f"datasource:{DATASOURCE_UID}", f"folder:{FOLDER_UID}"] + [
    f"dashboard:{uid}" for uid in UIDS
]


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorization: str | None


class FakeGrafana:
    """Grafana's state and its HTTP API, as far as the publisher uses it."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.requests: list[Request] = []
        self.datasources: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.dashboard_folders: dict[str, str] = {}
        self.next_id = 1
        # Like Grafana 12+, hand stored dashboards back migrated to a newer schema, with
        # defaults filled in, and add the plugin's own keys to a datasource's jsonData.
        self.migrates = False

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method != "GET"]

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def handle(self, request: Request) -> tuple[int, Any]:
        self.requests.append(request)
        if request.authorization != f"Bearer {TOKEN}":
            return 401, {"message": "Unauthorized"}
        if not request.path.startswith(self.prefix + "/api/"):
            return 404, {"message": "Not found"}
        parts = request.path[len(self.prefix) + len("/api/") :].split("/")
        route = (request.method, *parts)
        match route:
            case ("GET", "frontend", "settings"):
                return 200, {"buildInfo": {"version": "12.4.0", "edition": "Open Source"}}
            case ("GET", "datasources", "uid", uid):
                return self._get_datasource(uid)
            case ("POST", "datasources"):
                return self._save_datasource(request.body["uid"], request.body, create=True)
            case ("PUT", "datasources", "uid", uid):
                return self._save_datasource(uid, request.body, create=False)
            case ("GET", "folders", uid):
                if uid not in self.folders:
                    return 404, {"message": "folder not found"}
                return 200, self.folders[uid]
            case ("POST", "folders"):
                uid = request.body["uid"]
                if uid in self.folders:
                    return 409, {"message": "a folder with the same uid already exists"}
                self.folders[uid] = {
                    "id": self._id(),
                    "uid": uid,
                    "title": request.body["title"],
                    "version": 1,
                }
                return 200, self.folders[uid]
            case ("PUT", "folders", uid):
                folder = self.folders[uid]
                folder.update(title=request.body["title"], version=folder["version"] + 1)
                return 200, folder
            case ("GET", "dashboards", "uid", uid):
                if uid not in self.dashboards:
                    return 404, {"message": "Dashboard not found"}
                meta = {"folderUid": self.dashboard_folders[uid], "slug": uid}
                return 200, {"dashboard": self._read(self.dashboards[uid]), "meta": meta}
            case ("POST", "dashboards", "db"):
                return self._save_dashboard(request.body)
        return 404, {"message": f"no route for {request.method} {request.path}"}

    def _read(self, dashboard: dict[str, Any]) -> dict[str, Any]:
        if not self.migrates:
            return dashboard
        migrated = copy.deepcopy(dashboard)
        migrated["schemaVersion"] = 42
        for panel in migrated["panels"]:
            panel["pluginVersion"] = "12.4.0"
            panel.setdefault("fieldConfig", {}).setdefault("defaults", {})["color"] = {
                "mode": "palette-classic"
            }
        return migrated

    def _get_datasource(self, uid: str) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        # Secrets are write-only: Grafana reports which are set, never their values.
        fields = dict.fromkeys(self.secrets.get(uid, {}), True)
        return 200, {**self.datasources[uid], "secureJsonFields": fields}

    def _save_datasource(self, uid: str, body: dict[str, Any], create: bool) -> tuple[int, Any]:
        if create == (uid in self.datasources):
            return (409, {"message": "data source exists"}) if create else (404, {})
        stored = {key: value for key, value in body.items() if key != "secureJsonData"}
        previous = self.datasources.get(uid, {"id": self._id(), "version": 0})
        stored.update(id=previous["id"], orgId=1, version=previous["version"] + 1)
        if self.migrates:
            stored["jsonData"] = {**stored["jsonData"], "pluginVersion": "4.20.0"}
        self.datasources[uid] = stored
        # Omitted secrets keep their stored values, as in Grafana.
        self.secrets[uid] = {**self.secrets.get(uid, {}), **body.get("secureJsonData", {})}
        return 200, {"datasource": stored, "id": stored["id"], "message": "Datasource saved"}

    def _save_dashboard(self, body: dict[str, Any]) -> tuple[int, Any]:
        dashboard = copy.deepcopy(body["dashboard"])
        folder = body.get("folderUid", "")
        if folder and folder not in self.folders:
            return 400, {"message": "folder not found"}
        uid = dashboard["uid"]
        previous = self.dashboards.get(uid)
        if previous is not None and not body.get("overwrite"):
            return 412, {"status": "version-mismatch"}
        dashboard["id"] = previous["id"] if previous else self._id()
        dashboard["version"] = previous["version"] + 1 if previous else 1
        self.dashboards[uid] = dashboard
        self.dashboard_folders[uid] = folder
        return 200, {"id": dashboard["id"], "uid": uid, "status": "success", "version": 1}


def serve(grafana: FakeGrafana) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                self.command,
                self.path.split("?")[0],
                json.loads(raw) if raw else None,
                self.headers.get("Authorization"),
            )
            status, payload = grafana.handle(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _respond  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    state = FakeGrafana(prefix="/grafana")
    server = serve(state)
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/grafana"
    finally:
        server.shutdown()
        server.server_close()


def calls(requests: list[Request]) -> list[tuple[str, str]]:
    return [(r.method, r.path.removeprefix("/grafana")) for r in requests]


def test_first_publish_creates_everything_through_the_documented_calls(
    grafana: tuple[FakeGrafana, str],
) -> None:
    """Grafana cannot run here: the stand-in records the calls the publisher makes."""
    state, url = grafana
    summary = publish(url, TOKEN, server=SERVER, password="secret")

    assert summary.created == EVERYTHING
    assert summary.updated == summary.unchanged == []
    assert calls(state.requests) == [
        ("GET", "/api/frontend/settings"),
        ("GET", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("POST", "/api/datasources"),
        ("GET", f"/api/folders/{FOLDER_UID}"),
        ("POST", "/api/folders"),
        *[
            call
            for uid in UIDS
            for call in (("GET", f"/api/dashboards/uid/{uid}"), ("POST", "/api/dashboards/db"))
        ],
    ]
    assert all(r.authorization == f"Bearer {TOKEN}" for r in state.requests)

    datasource = state.writes()[0].body
    assert datasource["uid"] == DATASOURCE_UID
    assert datasource["type"] == "grafana-clickhouse-datasource"
    assert datasource["jsonData"]["defaultDatabase"] == "strikeflow"
    assert datasource["secureJsonData"] == {"password": "secret"}
    assert state.writes()[1].body == {"title": FOLDER_TITLE, "uid": FOLDER_UID}
    for request, model in zip(state.writes()[2:], MODELS, strict=True):
        assert request.body["dashboard"] == model
        assert request.body["folderUid"] == FOLDER_UID
        assert request.body["overwrite"] is True


def test_with_prometheus_its_datasource_and_the_pipeline_dashboard_are_published(
    grafana: tuple[FakeGrafana, str],
) -> None:
    """Grafana cannot run here: the stand-in records the calls the publisher makes."""
    state, url = grafana
    summary = publish(
        url, TOKEN, server=SERVER, password="secret", prometheus_url="http://prom:9090"
    )

    assert f"datasource:{PROMETHEUS_UID}" in summary.created
    assert "dashboard:strikeflow-pipeline" in summary.created
    (prometheus,) = [w.body for w in state.writes() if w.body.get("uid") == PROMETHEUS_UID]
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == "http://prom:9090"
    again = publish(url, TOKEN, server=SERVER, password="secret", prometheus_url="http://prom:9090")
    assert not again.changed


def test_second_publish_sends_no_writes(grafana: tuple[FakeGrafana, str]) -> None:
    """Grafana cannot run here: the stand-in records that only reads were sent."""
    state, url = grafana
    publish(url, TOKEN, server=SERVER, password="secret")
    state.requests.clear()

    summary = publish(url, TOKEN, server=SERVER, password="secret")

    assert state.writes() == []
    assert summary.unchanged == EVERYTHING
    assert not summary.changed


def test_what_grafana_adds_on_its_side_is_not_a_change(grafana: tuple[FakeGrafana, str]) -> None:
    """Grafana cannot run here: the stand-in migrates stored dashboards as Grafana 12+ does."""
    state, url = grafana
    state.migrates = True
    publish(url, TOKEN, server=SERVER, password="secret")
    state.requests.clear()

    assert not publish(url, TOKEN, server=SERVER, password="secret").changed
    assert state.writes() == []


def test_only_what_differs_from_the_server_is_updated(grafana: tuple[FakeGrafana, str]) -> None:
    """Grafana cannot run here: a UI edit and a moved ClickHouse are made on the stand-in."""
    state, url = grafana
    publish(url, TOKEN, server=SERVER, password="secret")
    edited = UIDS[2]
    state.dashboards[edited]["title"] = "renamed in the UI"
    state.requests.clear()

    moved = ClickHouseServer(host="clickhouse.internal", port=9440, secure=True)
    summary = publish(url, TOKEN, server=moved, password="secret")

    assert summary.updated == [f"datasource:{DATASOURCE_UID}", f"dashboard:{edited}"]
    assert calls(state.writes()) == [
        ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("POST", "/api/dashboards/db"),
    ]
    assert state.datasources[DATASOURCE_UID]["jsonData"]["host"] == "clickhouse.internal"
    assert state.dashboards[edited]["title"] == MODELS[2]["title"]


def test_password_is_sent_when_grafana_has_none_and_then_left_alone(
    grafana: tuple[FakeGrafana, str],
) -> None:
    """Grafana cannot run here: the stand-in keeps secrets write-only, as Grafana does."""
    state, url = grafana
    publish(url, TOKEN, server=SERVER)
    assert "secureJsonData" not in state.writes()[0].body

    summary = publish(url, TOKEN, server=SERVER, password="secret")
    assert summary.updated == [f"datasource:{DATASOURCE_UID}"]
    assert state.secrets[DATASOURCE_UID] == {"password": "secret"}

    state.requests.clear()
    assert not publish(url, TOKEN, server=SERVER, password="secret").changed
    assert state.writes() == []


def test_a_wrong_token_fails_loudly(grafana: tuple[FakeGrafana, str]) -> None:
    """Grafana cannot run here: the stand-in answers 401 as Grafana does."""
    state, url = grafana
    with pytest.raises(GrafanaError, match="401") as refused:
        publish(url, "wrong", server=SERVER)
    assert refused.value.status_code == 401
    assert "Unauthorized" in str(refused.value)
    assert state.writes() == []


def test_an_unreachable_grafana_is_named_in_the_error() -> None:
    """No Grafana at all: a closed loopback port."""
    url = "http://127.0.0.1:9/grafana"
    with pytest.raises(GrafanaError, match=re.escape(f"cannot reach Grafana at {url}")):
        publish(url, TOKEN, server=SERVER, timeout=2)


def test_the_installed_urllib3_is_the_real_one() -> None:
    """grafana-client 5 pulled niquests, which installs urllib3-future over urllib3's import
    name; schemathesis and requests then failed in the same environment."""
    import importlib.metadata

    import urllib3

    assert urllib3.__version__ == importlib.metadata.version("urllib3")
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("urllib3-future")


def test_publish_command_uses_the_clickhouse_dsn_for_the_datasource(
    grafana: tuple[FakeGrafana, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grafana cannot run here: the CLI publishes to the stand-in, twice."""
    state, url = grafana
    monkeypatch.setenv("STRIKEFLOW_GRAFANA_URL", url)
    monkeypatch.setenv("STRIKEFLOW_GRAFANA_TOKEN", TOKEN)
    monkeypatch.setenv("STRIKEFLOW_CLICKHOUSE_DSN", "http://reader:s%40fe@clickhouse:8123")

    result = CliRunner().invoke(app, ["dashboards", "publish"])

    assert result.exit_code == 0, result.output
    assert f"created   dashboard:{UIDS[0]}" in result.output
    settings = state.datasources[DATASOURCE_UID]["jsonData"]
    assert (settings["protocol"], settings["host"], settings["port"]) == (
        "http",
        "clickhouse",
        8123,
    )
    assert settings["username"] == "reader"
    assert state.secrets[DATASOURCE_UID] == {"password": "s@fe"}

    again = CliRunner().invoke(app, ["dashboards", "publish"])
    assert again.exit_code == 0, again.output
    assert "created" not in again.output
    assert "updated" not in again.output


def test_publish_command_says_in_one_line_that_grafana_refused(
    grafana: tuple[FakeGrafana, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grafana cannot run here: the stand-in refuses a wrong token; the CLI says so, no trace."""
    _, url = grafana
    monkeypatch.setenv("STRIKEFLOW_GRAFANA_URL", url)
    monkeypatch.setenv("STRIKEFLOW_GRAFANA_TOKEN", "wrong")
    monkeypatch.setenv("STRIKEFLOW_CLICKHOUSE_DSN", "http://reader:secret@clickhouse:8123")
    result = CliRunner().invoke(app, ["dashboards", "publish"])
    assert result.exit_code == 1
    assert "Grafana refused the publication" in result.output
    assert "401" in result.output
    assert "Traceback" not in result.output
