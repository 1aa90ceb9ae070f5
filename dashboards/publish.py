"""Publish the datasource, a folder and the dashboards to a running Grafana over its HTTP API.

For a Grafana that strikeflow's docker-compose does not provision (a shared or hosted one).
Every item is created or updated by uid, and only when the server's copy differs from ours, so
publishing twice changes nothing the second time. Do not publish into a Grafana that also
provisions these uids from files: Grafana refuses API writes to provisioned items.

"Differs" means that something we define is missing or different on the server. Keys the
server adds (Grafana migrates stored dashboards to its own schema version and fills in
defaults) do not count, or every publish to a newer Grafana would rewrite every dashboard.

Secrets are write-only in Grafana: the datasource password is sent when the datasource is
created or when the server reports none, and is otherwise left as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.definitions import dashboards
from dashboards.model import DATASOURCE_UID
from dashboards.provision import FOLDER_TITLE, FOLDER_UID, ClickHouseServer, datasource

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


def _get_or_none(call: Any, *args: Any) -> Any:
    """The resource, or None when Grafana answers 404."""
    try:
        return call(*args)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
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
    api: Any, server: ClickHouseServer, password: str | None, summary: PublishSummary
) -> None:
    item = f"datasource:{DATASOURCE_UID}"
    wanted = datasource(server)
    existing = _get_or_none(api.datasource.get_datasource_by_uid, DATASOURCE_UID)
    secure = {"secureJsonData": {"password": password}} if password is not None else {}
    if existing is None:
        api.datasource.create_datasource({**wanted, **secure})
        summary.created.append(item)
        return
    password_missing = not (existing.get("secureJsonFields") or {}).get("password")
    if not contains(existing, wanted) or (password is not None and password_missing):
        api.datasource.update_datasource_by_uid(DATASOURCE_UID, {**wanted, **secure})
        summary.updated.append(item)
    else:
        summary.unchanged.append(item)


def _publish_folder(api: Any, summary: PublishSummary) -> None:
    item = f"folder:{FOLDER_UID}"
    existing = _get_or_none(api.folder.get_folder, FOLDER_UID)
    if existing is None:
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        summary.created.append(item)
    elif existing.get("title") != FOLDER_TITLE:
        api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
        summary.updated.append(item)
    else:
        summary.unchanged.append(item)


def _content(model: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in model.items() if key not in SERVER_MANAGED}


def _publish_dashboard(api: Any, model: dict[str, Any], summary: PublishSummary) -> None:
    uid = model["uid"]
    item = f"dashboard:{uid}"
    existing = _get_or_none(api.dashboard.get_dashboard, uid)
    if existing is not None:
        same_content = contains(existing.get("dashboard"), _content(model))
        same_folder = (existing.get("meta") or {}).get("folderUid") == FOLDER_UID
        if same_content and same_folder:
            summary.unchanged.append(item)
            return
    api.dashboard.update_dashboard(
        {
            "dashboard": copy.deepcopy(model),
            "folderUid": FOLDER_UID,
            "overwrite": True,  # the definitions in git win over edits made in the UI
            "message": "strikeflow dashboards publish",
        }
    )
    (summary.created if existing is None else summary.updated).append(item)


def _base_url(url: str) -> str:
    """grafana-client appends "api" to the URL's path as is: a sub-path needs its trailing '/'."""
    parts = urlsplit(url)
    if parts.path and not parts.path.endswith("/"):
        parts = parts._replace(path=parts.path + "/")
    return urlunsplit(parts)


def publish(
    url: str,
    token: str,
    *,
    server: ClickHouseServer,
    password: str | None = None,
    models: Sequence[dict[str, Any]] | None = None,
    timeout: float = 10.0,
) -> PublishSummary:
    """Create or update the datasource, the folder and the dashboards; report what changed.

    `url` is Grafana's base URL (a sub-path such as https://host/grafana is kept), `token` a
    service account token with rights to manage datasources, folders and dashboards, `server`
    how Grafana reaches ClickHouse, `password` that ClickHouse user's password.
    """
    # grafana-client's methods are unannotated: the helpers take the client as Any.
    api: Any = GrafanaApi.from_url(_base_url(url), credential=token, timeout=timeout)
    api.connect()  # fails early, with the URL in the error, when Grafana is unreachable
    summary = PublishSummary()
    _publish_datasource(api, server, password, summary)
    _publish_folder(api, summary)
    for model in models if models is not None else [d.to_json() for d in dashboards()]:
        _publish_dashboard(api, model, summary)
    return summary
