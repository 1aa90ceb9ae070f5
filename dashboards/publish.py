"""Publish the datasource, a folder and the dashboards to a running Grafana over its HTTP API.

For a Grafana that strikeflow's docker-compose does not provision (a shared or hosted one).
Every item is created or updated by uid, and only when the server's copy differs from ours, so
publishing twice changes nothing the second time. Do not publish into a Grafana that also
provisions these uids from files: Grafana refuses API writes to provisioned items.

"Differs" means that something we define is missing or different on the server. Keys the
server adds (Grafana migrates stored dashboards to its own schema version and fills in
defaults) do not count, or every publish to a newer Grafana would rewrite every dashboard.

The Pipeline dashboard reads Prometheus: it is published, with a Prometheus datasource, only
when Prometheus' URL (as Grafana reaches it) is given.

Secrets are write-only in Grafana: the datasource password is sent when the datasource is
created or when the server reports none, and is otherwise left as it is.

The calls are Grafana's documented HTTP API, sent with httpx (`Grafana` below): nine of them,
too few for a client library. grafana-client 5 was used before; it depends on niquests, which
installs urllib3-future under urllib3's import name and broke every library built on the real
urllib3 in the same environment (schemathesis among them).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from dashboards.definitions import dashboards
from dashboards.model import DATASOURCE_UID, PROMETHEUS_UID
from dashboards.provision import (
    FOLDER_TITLE,
    FOLDER_UID,
    ClickHouseServer,
    datasource,
    prometheus_datasource,
)

# Fields Grafana owns on a stored dashboard: its database id, its revision and the schema
# version it migrated the model to.
SERVER_MANAGED = frozenset({"id", "version", "schemaVersion"})


@dataclass
class PublishSummary:
    """What a publish did, item by item (`datasource:<uid>`, `folder:<uid>`, `dashboard:<uid>`)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


class GrafanaError(RuntimeError):
    """Grafana refused a call (`status_code` is its HTTP status; 0 when it was not reached)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class Grafana:
    """Grafana's HTTP API at `url` (a sub-path such as https://host/grafana is kept), with a
    service account token. Bodies are JSON; an error answer raises `GrafanaError`."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.url = url
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of `method /api/<path>`."""
        try:
            answer = self._http.request(method, f"api/{path}", json=body)
        except httpx.TransportError as error:
            raise GrafanaError(0, f"cannot reach Grafana at {self.url}: {error}") from None
        if answer.status_code >= 400:
            try:
                message = answer.json().get("message", answer.text)
            except ValueError:
                message = answer.text
            raise GrafanaError(
                answer.status_code,
                f"Grafana answered {answer.status_code} to {method} /api/{path}: {message}",
            )
        return answer.json()

    def find(self, path: str) -> Any:
        """The resource at `GET /api/<path>`, or None when Grafana answers 404."""
        try:
            return self.call("GET", path)
        except GrafanaError as error:
            if error.status_code == 404:
                return None
            raise


def contains(actual: Any, wanted: Any) -> bool:
    """Whether `actual` has everything `wanted` defines: dict keys may be added, not changed.

    Lists must have the same length (a panel added or removed on the server is a difference).
    """
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(contains(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return bool(actual == wanted)


def _publish_datasource(
    api: Grafana, server: ClickHouseServer, password: str | None, summary: PublishSummary
) -> None:
    item = f"datasource:{DATASOURCE_UID}"
    wanted = datasource(server)
    existing = api.find(f"datasources/uid/{DATASOURCE_UID}")
    secure = {"secureJsonData": {"password": password}} if password is not None else {}
    if existing is None:
        api.call("POST", "datasources", {**wanted, **secure})
        summary.created.append(item)
        return
    password_missing = not (existing.get("secureJsonFields") or {}).get("password")
    if not contains(existing, wanted) or (password is not None and password_missing):
        api.call("PUT", f"datasources/uid/{DATASOURCE_UID}", {**wanted, **secure})
        summary.updated.append(item)
    else:
        summary.unchanged.append(item)


def _publish_prometheus(api: Grafana, url: str, summary: PublishSummary) -> None:
    item = f"datasource:{PROMETHEUS_UID}"
    wanted = prometheus_datasource(url)
    existing = api.find(f"datasources/uid/{PROMETHEUS_UID}")
    if existing is None:
        api.call("POST", "datasources", wanted)
        summary.created.append(item)
    elif not contains(existing, wanted):
        api.call("PUT", f"datasources/uid/{PROMETHEUS_UID}", wanted)
        summary.updated.append(item)
    else:
        summary.unchanged.append(item)


def _publish_folder(api: Grafana, summary: PublishSummary) -> None:
    item = f"folder:{FOLDER_UID}"
    existing = api.find(f"folders/{FOLDER_UID}")
    if existing is None:
        api.call("POST", "folders", {"title": FOLDER_TITLE, "uid": FOLDER_UID})
        summary.created.append(item)
    elif existing.get("title") != FOLDER_TITLE:
        api.call("PUT", f"folders/{FOLDER_UID}", {"title": FOLDER_TITLE, "overwrite": True})
        summary.updated.append(item)
    else:
        summary.unchanged.append(item)


def _content(model: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in model.items() if key not in SERVER_MANAGED}


def _publish_dashboard(api: Grafana, model: dict[str, Any], summary: PublishSummary) -> None:
    uid = model["uid"]
    item = f"dashboard:{uid}"
    existing = api.find(f"dashboards/uid/{uid}")
    if existing is not None:
        same_content = contains(existing.get("dashboard"), _content(model))
        same_folder = (existing.get("meta") or {}).get("folderUid") == FOLDER_UID
        if same_content and same_folder:
            summary.unchanged.append(item)
            return
    api.call(
        "POST",
        "dashboards/db",
        {
            "dashboard": copy.deepcopy(model),
            "folderUid": FOLDER_UID,
            "overwrite": True,  # the definitions in git win over edits made in the UI
            "message": "strikeflow dashboards publish",
        },
    )
    (summary.created if existing is None else summary.updated).append(item)


def publish(
    url: str,
    token: str,
    *,
    server: ClickHouseServer,
    password: str | None = None,
    models: Sequence[dict[str, Any]] | None = None,
    prometheus_url: str | None = None,
    timeout: float = 10.0,
) -> PublishSummary:
    """Create or update the datasource, the folder and the dashboards; report what changed.

    `url` is Grafana's base URL (a sub-path such as https://host/grafana is kept), `token` a
    service account token with rights to manage datasources, folders and dashboards, `server`
    how Grafana reaches ClickHouse, `password` that ClickHouse user's password, and
    `prometheus_url` how it reaches Prometheus (without it, the Pipeline dashboard is left out).
    """
    api = Grafana(url, token, timeout)
    try:
        api.call("GET", "frontend/settings")  # fails early, with the URL, when unreachable
        summary = PublishSummary()
        _publish_datasource(api, server, password, summary)
        if prometheus_url is not None:
            _publish_prometheus(api, prometheus_url, summary)
        _publish_folder(api, summary)
        if models is None:
            chosen = [d for d in dashboards() if prometheus_url is not None or not d.metric_panels]
            models = [d.to_json() for d in chosen]
        for model in models:
            _publish_dashboard(api, model, summary)
        return summary
    finally:
        api.close()
