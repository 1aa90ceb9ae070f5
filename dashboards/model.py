"""The small vocabulary the dashboards are written in, and its rendering to Grafana's JSON model.

A panel carries, besides what Grafana needs, the columns its query must return (`columns`):
tests/integration/test_dashboard_queries.py runs every query on ClickHouse and compares the
result's column names and types with them. They are not rendered into the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

DATASOURCE_TYPE = "grafana-clickhouse-datasource"
DATASOURCE_UID = "strikeflow-clickhouse"
# The plugin version the compose file installs; queries saved with it are not migrated on load.
PLUGIN_VERSION = "4.20.0"
# Grafana's JSON model version these dashboards are written against; newer Grafana migrates.
SCHEMA_VERSION = 41
GRID_WIDTH = 24

DATASOURCE_REF: dict[str, str] = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
# The pipeline's own metrics (sinks/metrics.py), scraped by Prometheus.
PROMETHEUS_UID = "strikeflow-prometheus"
PROMETHEUS_REF: dict[str, str] = {"type": "prometheus", "uid": PROMETHEUS_UID}

ColumnKind = Literal["time", "number", "string", "bool", "date"]
PanelType = Literal["timeseries", "stat", "table", "barchart", "piechart"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column a panel's query returns: its name and what Grafana will take it for."""

    name: str
    kind: ColumnKind


def time_col(name: str = "time") -> Column:
    return Column(name, "time")


def num(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "number") for name in names)


def text(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "string") for name in names)


@dataclass(frozen=True, slots=True)
class Panel:
    """One visualisation with one ClickHouse SQL query."""

    title: str
    type: PanelType
    sql: str
    columns: tuple[Column, ...]
    width: int = 12
    height: int = 8
    description: str = ""
    unit: str | None = None
    decimals: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    custom: Mapping[str, Any] = field(default_factory=dict)
    overrides: Sequence[Mapping[str, Any]] = ()
    transformations: Sequence[Mapping[str, Any]] = ()
    display_name: str | None = None
    # Whether the test data must make the query return rows (a panel that may be legitimately
    # empty, like an alert list, still has its columns checked).
    expect_rows: bool = True

    @property
    def query_type(self) -> str:
        """The plugin's query type; time series are converted from long to wide by the backend."""
        return "timeseries" if self.type == "timeseries" else "table"

    @property
    def format(self) -> int:
        """sqlds' numeric format: 0 time series, 1 table (plugin `mapQueryTypeToGrafanaFormat`)."""
        return 0 if self.query_type == "timeseries" else 1

    def target(self) -> dict[str, Any]:
        return {
            "refId": "A",
            "datasource": dict(DATASOURCE_REF),
            "editorType": "sql",
            "pluginVersion": PLUGIN_VERSION,
            "queryType": self.query_type,
            "format": self.format,
            "rawSql": self.sql,
        }

    def to_json(self, panel_id: int, grid: Mapping[str, int]) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        if self.unit is not None:
            defaults["unit"] = self.unit
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.display_name is not None:
            defaults["displayName"] = self.display_name
        if self.custom:
            defaults["custom"] = dict(self.custom)
        panel: dict[str, Any] = {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "datasource": dict(DATASOURCE_REF),
            "gridPos": dict(grid),
            "targets": [self.target()],
            "fieldConfig": {"defaults": defaults, "overrides": [dict(o) for o in self.overrides]},
            "options": dict(self.options),
        }
        if self.transformations:
            panel["transformations"] = [dict(t) for t in self.transformations]
        return panel


@dataclass(frozen=True, slots=True)
class Series:
    """One PromQL expression of a metric panel and how its series are named in the legend."""

    expr: str
    legend: str = ""


@dataclass(frozen=True, slots=True)
class MetricPanel:
    """A panel over Prometheus: one or more PromQL expressions.

    tests/dashboards/test_pipeline_queries.py evaluates every expression in a real Prometheus
    that scraped a running strikeflow; `expect_series` says whether it must return series there
    (a counter of rare events, such as insert retries, has none until the first one).
    """

    title: str
    type: Literal["timeseries", "stat"]
    series: tuple[Series, ...]
    unit: str | None = None
    width: int = 12
    height: int = 8
    description: str = ""
    expect_series: bool = True

    def to_json(self, panel_id: int, grid: Mapping[str, int]) -> dict[str, Any]:
        defaults: dict[str, Any] = {} if self.unit is None else {"unit": self.unit}
        targets = [
            {
                "refId": chr(ord("A") + index),
                "datasource": dict(PROMETHEUS_REF),
                "expr": series.expr,
                "legendFormat": series.legend or "__auto",
                "range": True,
            }
            for index, series in enumerate(self.series)
        ]
        return {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "datasource": dict(PROMETHEUS_REF),
            "gridPos": dict(grid),
            "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}
            }
            if self.type == "timeseries"
            else {},
        }


@dataclass(frozen=True, slots=True)
class Row:
    """A collapsible section header spanning the dashboard's width."""

    title: str


@dataclass(frozen=True, slots=True)
class Variable:
    """A query variable on the ClickHouse datasource.

    The plugin accepts the query as a plain SQL string (its legacy form, still read by current
    versions); a query may use variables declared before it, which Grafana resolves first.
    """

    name: str
    label: str
    sql: str
    multi: bool = False
    include_all: bool = False
    default: str | None = None  # None: All when include_all, else the first option

    def to_json(self) -> dict[str, Any]:
        if self.default is not None:
            current: dict[str, Any] = {"selected": True, "text": self.default}
            current["value"] = [self.default] if self.multi else self.default
        elif self.include_all:
            current = {"selected": True, "text": ["All"], "value": ["$__all"]}
        else:
            current = {}
        return {
            "type": "query",
            "name": self.name,
            "label": self.label,
            "datasource": dict(DATASOURCE_REF),
            "query": self.sql,
            "definition": self.sql,
            "refresh": 1,  # on dashboard load: new accounts and runs appear without editing
            "multi": self.multi,
            "includeAll": self.include_all,
            "current": current,
            "options": [],
            "regex": "",
            "sort": 0,  # keep the query's own ORDER BY
            "hide": 0,
            "skipUrlSync": False,
        }


@dataclass(frozen=True, slots=True)
class Dashboard:
    uid: str
    title: str
    description: str
    variables: tuple[Variable, ...]
    items: tuple[Panel | MetricPanel | Row, ...]
    time_from: str = "now-6h"
    refresh: str = "30s"
    tags: tuple[str, ...] = ("strikeflow",)

    @property
    def panels(self) -> tuple[Panel, ...]:
        """The panels over ClickHouse."""
        return tuple(item for item in self.items if isinstance(item, Panel))

    @property
    def metric_panels(self) -> tuple[MetricPanel, ...]:
        """The panels over Prometheus."""
        return tuple(item for item in self.items if isinstance(item, MetricPanel))

    def layout(self) -> list[tuple[Panel | MetricPanel | Row, dict[str, int]]]:
        """Place items left to right, wrapping at the grid's width; a row starts a new line."""
        placed: list[tuple[Panel | MetricPanel | Row, dict[str, int]]] = []
        x = y = line_height = 0
        for item in self.items:
            if isinstance(item, Row):
                y += line_height
                placed.append((item, {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}))
                y += 1
                x = line_height = 0
                continue
            if x + item.width > GRID_WIDTH:
                y += line_height
                x = line_height = 0
            placed.append((item, {"h": item.height, "w": item.width, "x": x, "y": y}))
            x += item.width
            line_height = max(line_height, item.height)
        return placed

    def to_json(self) -> dict[str, Any]:
        panels: list[dict[str, Any]] = []
        for panel_id, (item, grid) in enumerate(self.layout(), start=1):
            if isinstance(item, Row):
                panels.append(
                    {
                        "id": panel_id,
                        "type": "row",
                        "title": item.title,
                        "collapsed": False,
                        "gridPos": grid,
                        "panels": [],
                    }
                )
            else:
                panels.append(item.to_json(panel_id, grid))
        return {
            "id": None,
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "browser",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "links": [
                {
                    "type": "dashboards",
                    "title": "strikeflow",
                    "tags": list(self.tags),
                    "asDropdown": True,
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "templating": {"list": [variable.to_json() for variable in self.variables]},
            "annotations": {"list": []},
            "panels": panels,
        }
