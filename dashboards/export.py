"""Write the generated dashboards and provisioning files; the repository commits their output.

`export(Path("dashboards"))` regenerates the committed files in place (the CLI:
`strikeflow dashboards export dashboards`); tests/unit/test_dashboards.py fails when the
committed files differ from what the definitions generate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboards.definitions import dashboards
from dashboards.provision import (
    clickhouse_reader_users_xml,
    dashboard_provider,
    datasource_provisioning,
    to_yaml,
)

DASHBOARDS_DIR = "json"
DATASOURCES_FILE = "provisioning/datasources/strikeflow.yaml"
PROVIDERS_FILE = "provisioning/dashboards/strikeflow.yaml"
CLICKHOUSE_USERS_FILE = "clickhouse/grafana-reader.xml"


def dashboard_json(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"


def rendered_files() -> dict[str, str]:
    """Relative path -> content of every generated file."""
    files = {
        f"{DASHBOARDS_DIR}/{dashboard.uid}.json": dashboard_json(dashboard.to_json())
        for dashboard in dashboards()
    }
    files[DATASOURCES_FILE] = to_yaml(datasource_provisioning())
    files[PROVIDERS_FILE] = to_yaml(dashboard_provider())
    files[CLICKHOUSE_USERS_FILE] = clickhouse_reader_users_xml()
    return files


def export(directory: Path) -> list[Path]:
    """Write the dashboards' JSON and the provisioning files under `directory`."""
    written = []
    for relative, content in rendered_files().items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
