"""Every dashboard query runs on ClickHouse and returns the columns its panel expects.

Grafana cannot run here, so this is how the dashboards are tested: each panel's SQL (and each
template variable's) goes through dashboards.macros, which expands the Grafana macros and
variables the way the ClickHouse plugin does, and then runs on chdb against the migrated schema
filled with rows built from the schemas' models. A panel passes when the result has the column
names and kinds (time, number, string, ...) declared next to its query in the definitions, and
rows where the data has them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from dashboards.definitions import dashboards
from dashboards.macros import ALL, TimeRange, VariableValue, expand
from dashboards.model import Dashboard, Panel, Variable
from schemas.common import to_epoch_ms
from schemas.config import (
    AlgorithmConfig,
    MovingAverageCross,
    RiskLimits,
    RsiReversion,
)
from schemas.trading import (
    Decision,
    PositionSnapshot,
)
from sinks.clickhouse.client import connect, migrate
from tests.dashboards.dashboard_rows import (
    BACKTEST_ACCOUNTS,
    DAYS,
    LIVE,
    LIVE_ACCOUNTS,
    SESSION_OPEN,
    SINGLE_RUN,
    SWEEP_RUN,
    TIME_RANGE,
    backtest_rows,
    daily,
    insert,
    live_rows,
    session_times,
    snapshots,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def filled(chdb_dsn: str) -> Iterator[Client]:
    """A database of its own with live and backtest rows; snapshots are written twice (a
    replay). Made once per module: its tests only read it (a migrated database and its rows
    took seconds per test)."""
    name = f"filled_{uuid.uuid4().hex[:10]}"
    client = connect(chdb_dsn, name)
    migrate(client)
    live = live_rows()
    insert(client, live)
    insert(client, [row for row in live if isinstance(row, PositionSnapshot)])
    insert(client, backtest_rows())
    yield client
    client.command(f"DROP DATABASE IF EXISTS `{name}`")
    client.close()


# -- checking results ----------------------------------------------------------------------------


def kind_of(type_name: str) -> str:
    """What Grafana makes of a ClickHouse type: time, date, number, string or bool."""
    name = type_name
    while match := re.fullmatch(r"(?:Nullable|LowCardinality)\((.*)\)", name):
        name = match.group(1)
    if name.startswith("DateTime"):
        return "time"
    if name in ("Date", "Date32"):
        return "date"
    if name == "Bool":
        return "bool"
    if re.fullmatch(r"U?Int\d+|Float\d+|BFloat16|Decimal.*", name):
        return "number"
    if name == "String" or name.startswith(("FixedString", "Enum")):
        return "string"
    return name  # anything else fails the comparison, showing the type


def run_query(ch: Client, sql: str) -> tuple[list[tuple[str, str]], list[Sequence[Any]]]:
    result = ch.query(sql)
    columns = [
        (name, kind_of(kind.name))
        for name, kind in zip(result.column_names, result.column_types, strict=True)
    ]
    if not result.result_rows:  # chdb answers no rows without their columns: ask for them
        described = ch.query(f"DESCRIBE TABLE ({sql})").result_rows
        columns = [(str(row[0]), kind_of(str(row[1]))) for row in described]
    return columns, result.result_rows


def resolve_variables(ch: Client, dashboard: Dashboard, pick: str) -> dict[str, VariableValue]:
    """Run each variable's query in order, then select All (`pick="all"`) or the first option."""
    values: dict[str, VariableValue] = {}
    for variable in dashboard.variables:
        columns, rows = run_query(ch, expand(variable.sql, values, TIME_RANGE))
        assert columns, f"${variable.name} returned no columns"
        assert columns[0][1] == "string", f"${variable.name}: {columns}"
        options = tuple(str(row[0]) for row in rows)
        assert options, f"${variable.name} has no options on the test data"
        values[variable.name] = VariableValue(
            selected=choose(variable, options, pick), options=options, multi=variable.multi
        )
    return values


def choose(variable: Variable, options: tuple[str, ...], pick: str) -> tuple[str, ...]:
    if variable.default is not None:
        assert variable.default in options, f"default {variable.default!r} not in {options}"
        return (variable.default,)
    if pick == "all" and variable.include_all:
        return (ALL,)
    return (options[0],)


def panel_problems(ch: Client, panel: Panel, variables: dict[str, VariableValue]) -> list[str]:
    sql = expand(panel.sql, variables, TIME_RANGE)
    try:
        columns, rows = run_query(ch, sql)
    except Exception as exc:  # every failing panel is reported, not just the first
        return [f"{panel.title!r} failed: {str(exc).splitlines()[0]}\n{sql}"]
    expected = [(column.name, column.kind) for column in panel.columns]
    problems = []
    if columns != expected:
        problems.append(f"{panel.title!r} returned {columns}, expected {expected}")
    if panel.expect_rows and not rows:
        problems.append(f"{panel.title!r} returned no rows\n{sql}")
    return problems


DASHBOARDS = dashboards()


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.uid for d in DASHBOARDS])
def test_every_panel_returns_the_columns_it_declares(filled: Client, dashboard: Dashboard) -> None:
    """With All selected, then with one account/symbol/run (Grafana cannot run here)."""
    problems = []
    for pick in ("all", "first"):
        variables = resolve_variables(filled, dashboard, pick)
        for panel in dashboard.panels:
            problems += [f"[{pick}] {p}" for p in panel_problems(filled, panel, variables)]
    assert not problems, "\n\n".join(problems)


# -- values that depend on reading the right rows -------------------------------------------------


def panel(uid: str, title: str) -> Panel:
    (dashboard,) = [d for d in DASHBOARDS if d.uid == uid]
    (found,) = [p for p in dashboard.panels if p.title == title]
    return found


def values_of(ch: Client, uid: str, title: str, pick: str = "all") -> list[Sequence[Any]]:
    (dashboard,) = [d for d in DASHBOARDS if d.uid == uid]
    variables = resolve_variables(ch, dashboard, pick)
    _, rows = run_query(ch, expand(panel(uid, title).sql, variables, TIME_RANGE))
    return rows


def test_control_center_reads_latest_rows_once_despite_replayed_snapshots(filled: Client) -> None:
    """Grafana cannot run here: the stats are checked on chdb with the macros expanded."""
    latest = {
        account: [
            row
            for row in snapshots(LIVE, account, session_times(SESSION_OPEN, len(DAYS)))
            if row.instrument == ""
        ][-1]
        for account in LIVE_ACCOUNTS
    }
    [(equity,)] = values_of(filled, "strikeflow-control", "Equity")
    assert equity == pytest.approx(sum(row.equity for row in latest.values()))

    [(count, gross)] = values_of(filled, "strikeflow-control", "Open positions and gross exposure")
    assert count == 3 * len(LIVE_ACCOUNTS)  # not doubled by the replayed copies
    times = session_times(SESSION_OPEN, len(DAYS))
    positions = [
        row
        for account in LIVE_ACCOUNTS
        for row in snapshots(LIVE, account, times)
        if row.instrument and row.ts == latest[account].ts
    ]
    assert gross == pytest.approx(sum(abs(row.market_value) for row in positions))

    states = values_of(filled, "strikeflow-control", "Trading state")
    assert [(row[0], row[1]) for row in states] == [("alpha", "running"), ("beta", "paused")]

    [(pnl_today,)] = values_of(filled, "strikeflow-control", "PnL today")
    final_rows = [
        row
        for account in LIVE_ACCOUNTS
        for row in daily(LIVE, account, DAYS, start=100_000.0)
        if row.day == DAYS[-1]
    ]
    assert pnl_today == pytest.approx(sum(row.pnl for row in final_rows if row.trades == 6))


def test_worst_scenario_loss_reads_the_account_rows_not_the_positions(filled: Client) -> None:
    """Grafana cannot run here: the panel's query is checked on chdb."""
    book_losses = {
        row.scenario_loss
        for account in LIVE_ACCOUNTS
        for row in snapshots(LIVE, account, session_times(SESSION_OPEN, len(DAYS)))
        if row.instrument == ""
    }
    rows = values_of(filled, "strikeflow-greeks", "Worst scenario loss per account")
    assert rows
    assert {row[2] for row in rows} <= book_losses


def test_signal_feed_counts_rejections_per_rule(filled: Client) -> None:
    """Grafana cannot run here: the pie chart's query is checked on chdb."""
    decisions = [row for row in live_rows() if isinstance(row, Decision) and not row.approved]
    expected: dict[str, int] = defaultdict(int)
    for decision in decisions:
        expected[decision.rule] += 1
    rows = values_of(filled, "strikeflow-signals", "Rejections by rule (total)")
    assert dict(rows) == expected


def test_analytics_win_rate_uses_each_days_final_row(filled: Client) -> None:
    """Grafana cannot run here: the stat's query is checked on chdb."""
    [(win_rate,)] = values_of(filled, "strikeflow-analytics", "Win rate")
    assert win_rate == pytest.approx(4 / 6)  # the intraday rows (1 of 2) were replaced


def test_backtest_sweep_joins_parameters_from_both_config_shapes(filled: Client) -> None:
    """Grafana cannot run here: the sweep table's query is checked on chdb."""
    rows = values_of(filled, "strikeflow-backtests", "Parameter sweep")
    parameters = {(row[0], row[1]): (row[2], json.loads(row[3])) for row in rows}
    assert set(parameters) == {
        (run, account) for run, accounts in BACKTEST_ACCOUNTS.items() for account in accounts
    }
    assert parameters[(SWEEP_RUN, "sweep-slow")] == (
        "ma_cross",
        {"kind": "ma_cross", "fast": 10, "slow": 30, "allow_short": False, "cross": "touch"},
    )
    assert parameters[(SINGLE_RUN, "bt2-main")][0] == "ma_cross"

    metrics = values_of(filled, "strikeflow-backtests", "Metrics")
    assert len(metrics) == 3 * len(BACKTEST_ACCOUNTS)  # the completed version of each run only


# -- over what the flow itself wrote ------------------------------------------------------------


@pytest.fixture(scope="module")
def flowed(module_ch: Client, chdb_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Client:
    """A short live run and a backtest sweep, written by the real flow into a fresh database."""
    from bytewax.testing import run_main

    from flows.runs.backtest import Source, run_backtest
    from flows.runs.sweep import sweep_configs
    from flows.stages.graph import FlowSpec, build_flow
    from schemas.settings import Settings
    from tests.flows_support import write_session_file

    database = module_ch.query("SELECT currentDatabase()").result_rows[0][0]
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("flowed"),
        clickhouse_dsn=chdb_dsn,
        clickhouse_database=database,
        greeks_all_symbols=True,  # the Greeks panels watch chains that no account here trades
    )
    ticks = write_session_file(tmp_path_factory.mktemp("ticks") / "ticks.parquet", ["AAPL", "MSFT"])
    configs = [
        AlgorithmConfig(
            account_id="alpha",
            symbols=["AAPL", "MSFT"],
            strategy=MovingAverageCross(fast=5, slow=20),
            # limits that bite, so that rejections and a halt alert show on the dashboards
            limits=RiskLimits(cooldown_seconds=30, max_daily_loss=50.0),
        ),
        AlgorithmConfig(
            account_id="beta",
            symbols=["MSFT"],
            strategy=RsiReversion(period=5, oversold=35, overbought=65),
            selection={"kind": "option", "target_delta": 0.4, "days_to_expiry": 7},  # type: ignore[arg-type]
        ),
    ]
    spec = FlowSpec(
        run_id=LIVE,
        settings=settings,
        configs=configs,
        tick_file=ticks,
        bounded=True,
        read_control=False,
        write_kafka=False,
    )
    run_main(build_flow(spec))
    sweep = sweep_configs(configs[0].model_copy(update={"account_id": "sweep"}), {"fast": [5, 8]})
    run_backtest(settings, sweep, Source(file=ticks), run_id=SWEEP_RUN)
    return module_ch


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.uid for d in DASHBOARDS])
def test_every_panel_works_on_what_the_flow_wrote(flowed: Client, dashboard: Dashboard) -> None:
    """The same checks over a short real flow run and a backtest sweep (Grafana cannot run
    here: the panels' SQL runs on chdb with the macros expanded)."""
    flow_range = TimeRange(
        from_ms=to_epoch_ms(datetime(2026, 11, 27, tzinfo=UTC)),
        to_ms=to_epoch_ms(datetime(2026, 11, 29, tzinfo=UTC)),
        interval_ms=5 * 60_000,
    )
    problems = []
    for pick in ("all", "first"):
        values: dict[str, VariableValue] = {}
        for variable in dashboard.variables:
            _, rows = run_query(flowed, expand(variable.sql, values, flow_range))
            options = tuple(str(row[0]) for row in rows)
            assert options, f"${variable.name} has no options on the flow's data"
            values[variable.name] = VariableValue(
                selected=choose(variable, options, pick), options=options, multi=variable.multi
            )
        for item in dashboard.panels:
            sql = expand(item.sql, values, flow_range)
            try:
                columns, rows = run_query(flowed, sql)
            except Exception as exc:
                problems.append(f"[{pick}] {item.title!r} failed: {str(exc).splitlines()[0]}")
                continue
            expected = [(column.name, column.kind) for column in item.columns]
            if columns != expected:
                problems.append(f"[{pick}] {item.title!r} returned {columns}, expected {expected}")
            if item.expect_rows and not rows:
                problems.append(f"[{pick}] {item.title!r} returned no rows")
    assert not problems, "\n".join(problems)
