"""The dashboards' JSON, their provisioning files and the macro expander, checked without Grafana.

Grafana cannot run here: these tests check the committed files against the definitions and
against the shapes Grafana and the ClickHouse plugin document; the queries themselves run on
ClickHouse in tests/integration/test_dashboard_queries.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from api.cli import app
from dashboards.definitions import dashboards
from dashboards.export import DASHBOARDS_DIR, DATASOURCES_FILE, PROVIDERS_FILE, export
from dashboards.macros import (
    ALL,
    ExpansionError,
    TimeRange,
    VariableValue,
    backend_macro_calls,
    expand,
    referenced_variables,
)
from dashboards.model import DATASOURCE_TYPE, GRID_WIDTH
from schemas.settings import Settings
from tests.paths import REPO

DASHBOARDS_ROOT = REPO / "dashboards"
GENERATED_DIRS = ("json", "provisioning", "clickhouse")
# 2014-11-12T11:45:26.371Z to 2015-11-12T11:45:26.371Z, the plugin's own test range
RANGE = TimeRange(from_ms=1_415_792_726_371, to_ms=1_447_328_726_371, interval_ms=20_000)


def committed_dashboards() -> list[dict[str, Any]]:
    return [
        json.loads(path.read_text())
        for path in sorted((DASHBOARDS_ROOT / DASHBOARDS_DIR).glob("*.json"))
    ]


def load_yaml(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DASHBOARDS_ROOT / relative).read_text())
    return document


def panels_of(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def datasource_refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every `datasource` reference anywhere in a dashboard model."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            yield from datasource_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasource_refs(item)


# -- one source of truth -------------------------------------------------------------------------


def test_committed_files_are_what_the_definitions_generate(tmp_path: Path) -> None:
    """One source of truth: the committed JSON and YAML are the definitions' output."""
    written = export(tmp_path)
    generated = {path.relative_to(tmp_path).as_posix(): path.read_text() for path in written}
    committed = {
        path.relative_to(DASHBOARDS_ROOT).as_posix(): path.read_text()
        for directory in GENERATED_DIRS
        for path in (DASHBOARDS_ROOT / directory).rglob("*")
        if path.is_file()
    }
    assert sorted(committed) == sorted(generated), "regenerate: strikeflow dashboards export"
    stale = [name for name in generated if committed[name] != generated[name]]
    assert not stale, f"{stale} differ; run `strikeflow dashboards export dashboards`"


def test_export_command_writes_the_same_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboards", "export", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    expected = {p.relative_to(tmp_path / "direct") for p in export(tmp_path / "direct")}
    written = {p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*")}
    assert {p for p in written if (tmp_path / "cli" / p).is_file()} == expected


# -- provisioning files --------------------------------------------------------------------------


def test_datasource_provisioning_has_the_documented_shape() -> None:
    """Grafana cannot run here: the file is checked against Grafana's and the plugin's docs."""
    document = load_yaml(DATASOURCES_FILE)
    assert document["apiVersion"] == 1
    source, prometheus = document["datasources"]
    assert source["type"] == DATASOURCE_TYPE
    assert source["isDefault"]
    assert not prometheus["isDefault"]
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"].startswith("http://")
    assert source["access"] == "proxy"
    assert source["name"]
    assert source["uid"]
    settings = source["jsonData"]
    assert settings["host"]
    assert isinstance(settings["port"], int)
    assert settings["protocol"] in ("native", "http")
    assert settings["username"]
    # The queries name tables without a database: the datasource must name the app's database.
    assert settings["defaultDatabase"] == Settings.model_fields["clickhouse_database"].default
    # Grafana expands $NAME from its environment; a literal password must never be committed.
    assert re.fullmatch(r"\$\{?[A-Z][A-Z0-9_]*\}?", source["secureJsonData"]["password"])


def test_dashboard_provider_has_the_documented_shape() -> None:
    """Grafana cannot run here: the file is checked against Grafana's provisioning docs."""
    document = load_yaml(PROVIDERS_FILE)
    assert document["apiVersion"] == 1
    (provider,) = document["providers"]
    assert provider["name"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
    assert provider["folderUid"]


def test_every_datasource_reference_is_a_provisioned_datasource() -> None:
    """Grafana cannot run here: a panel with another uid would show 'datasource not found'.
    A dashboard reads one datasource: ClickHouse, or Prometheus for the Pipeline."""
    provisioned = [
        {"type": source["type"], "uid": source["uid"]}
        for source in load_yaml(DATASOURCES_FILE)["datasources"]
    ]
    for dashboard in committed_dashboards():
        refs = list(datasource_refs(dashboard))
        assert refs, dashboard["uid"]
        assert refs[0] in provisioned, dashboard["uid"]
        assert all(ref == refs[0] for ref in refs), dashboard["uid"]


# -- dashboard models ----------------------------------------------------------------------------


def test_every_variable_a_query_uses_is_declared_before_it_is_used() -> None:
    """Grafana cannot run here: it would leave an undeclared $name in the SQL as text."""
    for dashboard in committed_dashboards():
        declared: list[str] = []
        for variable in dashboard["templating"]["list"]:
            used = referenced_variables(variable["query"])
            assert used <= set(declared), f"{dashboard['uid']} ${variable['name']} uses {used}"
            declared.append(variable["name"])
        for panel in panels_of(dashboard):
            for target in panel.get("targets", []):
                used = referenced_variables(target.get("rawSql") or target["expr"])
                assert used <= set(declared), f"{dashboard['uid']} {panel['title']!r}: {used}"


def test_targets_are_sql_queries_in_the_format_their_panel_reads() -> None:
    """Grafana cannot run here: the target fields follow the plugin's src/types/sql.ts."""
    for dashboard in committed_dashboards():
        for panel in panels_of(dashboard):
            if panel["type"] == "row" or panel["datasource"]["type"] == "prometheus":
                continue  # Prometheus panels: tests/dashboards/test_pipeline_queries.py
            (target,) = panel["targets"]
            assert target["editorType"] == "sql"
            if panel["type"] == "timeseries":
                assert (target["queryType"], target["format"]) == ("timeseries", 0)
            else:
                assert (target["queryType"], target["format"]) == ("table", 1)
            # A database name would break on the tests' databases and on other deployments.
            assert "strikeflow." not in target["rawSql"]


def test_backend_macros_take_plain_column_arguments() -> None:
    """Older sqlds versions cut macro arguments at the first ')': keep them simple."""
    for dashboard in dashboards():
        for sql in [p.sql for p in dashboard.panels] + [v.sql for v in dashboard.variables]:
            for name, args in backend_macro_calls(sql):
                assert all(re.fullmatch(r"\w+(\.\w+)?", arg) for arg in args), (name, args)


def test_uids_are_unique_and_panels_tile_the_grid_without_overlap() -> None:
    """Grafana cannot run here: overlapping gridPos would be rearranged on load."""
    models = committed_dashboards()
    assert len({model["uid"] for model in models}) == len(models)
    for model in models:
        ids = [panel["id"] for panel in panels_of(model)]
        assert len(ids) == len(set(ids)), model["uid"]
        cells: set[tuple[int, int]] = set()
        for panel in panels_of(model):
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= GRID_WIDTH, (model["uid"], panel["title"])
            area = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not area & cells, (model["uid"], panel["title"])
            cells |= area


def test_panels_declare_the_columns_their_visualisation_needs() -> None:
    """The declared columns are what the query test holds each panel's result to."""
    for dashboard in dashboards():
        titles = [panel.title for panel in dashboard.panels]
        assert len(titles) == len(set(titles)), dashboard.uid
        for panel in dashboard.panels:
            kinds = [column.kind for column in panel.columns]
            names = [column.name for column in panel.columns]
            assert len(names) == len(set(names)), (dashboard.uid, panel.title)
            if panel.type == "timeseries":
                assert (panel.columns[0].name, kinds[0]) == ("time", "time"), panel.title
                assert "number" in kinds[1:], panel.title
                assert set(kinds[1:]) <= {"string", "number"}, panel.title
            elif panel.type == "stat":
                assert set(kinds) == {"number"}, panel.title
            elif panel.type in ("barchart", "piechart"):
                assert kinds[0] == "string", panel.title
                assert set(kinds[1:]) == {"number"}, panel.title


def test_dashboards_list_each_other() -> None:
    """Each dashboard links to the others by their shared tag, keeping variables and time."""
    for model in committed_dashboards():
        (link,) = model["links"]
        assert link["type"] == "dashboards"
        assert set(link["tags"]) <= set(model["tags"])
        assert link["includeVars"]
        assert link["keepTime"]


# -- the macro expander --------------------------------------------------------------------------

ACCOUNTS = VariableValue(selected=("a", "b"), options=("a", "b", "c"), multi=True)
ALL_ACCOUNTS = VariableValue(selected=(ALL,), options=("a", "b", "c"), multi=True)
RUN = VariableValue(selected=("live",), options=("live", "bt-1"))


def test_conditional_all_becomes_true_when_all_is_selected() -> None:
    sql = "WHERE $__conditionalAll(account_id IN (${account:singlequote}), $account) AND x"
    assert expand(sql, {"account": ALL_ACCOUNTS}, RANGE) == "WHERE 1=1 AND x"


def test_conditional_all_keeps_the_condition_for_a_selection() -> None:
    sql = "WHERE $__conditionalAll(account_id IN (${account:singlequote}), $account)"
    assert expand(sql, {"account": ACCOUNTS}, RANGE) == "WHERE account_id IN ('a','b')"


def test_conditional_all_is_true_for_an_empty_variable() -> None:
    empty = VariableValue(selected=(), options=(), multi=True)
    sql = "$__conditionalAll(x IN ($account), $account)"
    assert expand(sql, {"account": empty}, RANGE) == "1=1"


def test_all_without_conditional_all_lists_every_option() -> None:
    assert expand("IN (${account:singlequote})", {"account": ALL_ACCOUNTS}, RANGE) == (
        "IN ('a','b','c')"
    )


def test_variables_format_like_grafana_and_the_plugin() -> None:
    names = VariableValue(selected=("o'neil", "x"), options=(), multi=True)
    assert expand("${n:singlequote}", {"n": names}, RANGE) == "'o\\'neil','x'"
    assert expand("${n:sqlstring}", {"n": names}, RANGE) == "'o''neil','x'"
    assert expand("${n:csv}", {"n": names}, RANGE) == "o'neil,x"
    # Without a format the plugin quotes a multi-value variable and leaves a single one raw.
    assert expand("$n", {"n": names}, RANGE) == "'o'neil','x'"
    assert expand("$run and ${run}", {"run": RUN}, RANGE) == "live and live"
    assert expand("${run:singlequote}", {"run": RUN}, RANGE) == "'live'"


def test_time_macros_expand_like_the_plugin_backend() -> None:
    assert expand("$__timeFilter(ts)", {}, RANGE) == (
        "ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)"
    )
    assert expand("$__timeFilter_ms(d.ts)", {}, RANGE) == (
        "d.ts >= fromUnixTimestamp64Milli(1415792726371) "
        "AND d.ts <= fromUnixTimestamp64Milli(1447328726371)"
    )
    assert expand("$__fromTime,$__toTime", {}, RANGE) == (
        "toDateTime(1415792726),toDateTime(1447328726)"
    )
    assert expand("$__fromTime_ms < $__toTime_ms", {}, RANGE) == (
        "fromUnixTimestamp64Milli(1415792726371) < fromUnixTimestamp64Milli(1447328726371)"
    )
    assert expand("$__dateFilter(day)", {}, RANGE) == (
        "day >= toDate('2014-11-12') AND day <= toDate('2015-11-12')"
    )
    assert expand("$__timeInterval( ts )", {}, RANGE) == (
        "toStartOfInterval(toDateTime(ts), INTERVAL 20 second)"
    )
    assert expand("$__timeInterval_ms(ts)", {}, RANGE) == (
        "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 20000 millisecond)"
    )
    assert expand("$__interval_s", {}, RANGE) == "20"
    assert expand("$__from-$__to", {}, RANGE) == "1415792726371-1447328726371"


def test_intervals_are_at_least_one_unit() -> None:
    tiny = TimeRange(from_ms=0, to_ms=1, interval_ms=0)
    assert expand("$__interval_s", {}, tiny) == "1"
    assert expand("$__timeInterval(ts)", {}, tiny).endswith("INTERVAL 1 second)")
    assert expand("$__timeInterval_ms(ts)", {}, tiny).endswith("INTERVAL 1 millisecond)")


@pytest.mark.parametrize(
    "sql",
    [
        "$missing",
        "${account:percentencode}",
        "$__timeFiltr(ts)",
        "$__timeFilter(a, b)",
        "$__conditionalAll(x, $missing)",
        "$__timeFilter(ts",
    ],
)
def test_what_grafana_would_not_expand_is_an_error(sql: str) -> None:
    with pytest.raises(ExpansionError):
        expand(sql, {"account": ACCOUNTS}, RANGE)


# -- the publish command without Grafana ---------------------------------------------------------


def test_publish_without_a_grafana_url_or_token_says_how_to_configure_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STRIKEFLOW_GRAFANA_URL", raising=False)
    monkeypatch.delenv("STRIKEFLOW_GRAFANA_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["dashboards", "publish"])
    assert result.exit_code == 2
    assert "STRIKEFLOW_GRAFANA_URL" in result.output
    assert "STRIKEFLOW_GRAFANA_TOKEN" in result.output


def test_publish_refuses_an_embedded_clickhouse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIKEFLOW_CLICKHOUSE_DSN", "chdb:///tmp/engine")
    result = CliRunner().invoke(
        app, ["dashboards", "publish", "--url", "http://127.0.0.1:9", "--token", "t"]
    )
    assert result.exit_code == 2
    assert "http(s)://user:password@host:8123" in result.output
