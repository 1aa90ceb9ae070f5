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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from pydantic import BaseModel

from dashboards.definitions import dashboards
from dashboards.macros import ALL, TimeRange, VariableValue, expand
from dashboards.model import Dashboard, Panel, Variable
from schemas.common import to_epoch_ms
from schemas.config import (
    AlgorithmConfig,
    BacktestRun,
    MovingAverageCross,
    RiskLimits,
    RsiReversion,
)
from schemas.market import MarketTick, OptionGreeks
from schemas.tables import column_names, table_of, to_columns
from schemas.trading import (
    Alert,
    DailyPerformance,
    Decision,
    Fill,
    PositionSnapshot,
    Signal,
    TradingState,
)

pytestmark = pytest.mark.integration

LIVE = "live"
LIVE_ACCOUNTS = ("alpha", "beta")
SYMBOLS = ("AAPL", "MSFT")
SESSION_OPEN = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 09:30 in New York
DAYS = (date(2026, 11, 23), date(2026, 11, 24))
STEP = timedelta(minutes=10)
STEPS_PER_DAY = 13  # 14:30 to 16:30 UTC
SWEEP_RUN = "bt-sweep-1"
SINGLE_RUN = "bt-2"
BACKTEST_ACCOUNTS = {SWEEP_RUN: ("sweep-fast", "sweep-slow"), SINGLE_RUN: ("bt2-main",)}
BACKTEST_OPEN = datetime(2026, 10, 5, 14, 30, tzinfo=UTC)
TIME_RANGE = TimeRange(
    from_ms=to_epoch_ms(datetime(2026, 10, 1, tzinfo=UTC)),
    to_ms=to_epoch_ms(datetime(2026, 11, 25, tzinfo=UTC)),
    interval_ms=30 * 60_000,
)


def ms(moment: datetime) -> int:
    result: int = to_epoch_ms(moment)
    return result


def session_times(open_at: datetime, days: int) -> list[datetime]:
    return [
        open_at + timedelta(days=day) + STEP * step
        for day in range(days)
        for step in range(STEPS_PER_DAY)
    ]


def snapshots(run: str, account: str, times: Sequence[datetime]) -> list[PositionSnapshot]:
    """An account row plus a stock and an option position on AAPL and a short MSFT position."""
    rows = []
    for index, moment in enumerate(times):
        aapl = 230.0 + index * 0.25
        msft = 410.0 - index * 0.5
        call = 6.0 + index * 0.05
        positions = [
            # (instrument, underlying, quantity, avg, mark, multiplier, delta, gamma, vega, theta)
            ("AAPL", "AAPL", 100, 229.5, aapl, 1, 100.0, 0.0, 0.0, 0.0),
            ("AAPL261218C00230000", "AAPL", 5, 5.8, call, 100, 260.0, 9.5, 1800.0, -2400.0),
            ("MSFT", "MSFT", -50, 411.0, msft, 1, -50.0, 0.0, 0.0, 0.0),
        ]
        market = sum(qty * mark * mult for _, _, qty, _, mark, mult, *_ in positions)
        unrealised = sum(qty * (mark - avg) * mult for _, _, qty, avg, mark, mult, *_ in positions)
        cash = 100_000.0 - sum(qty * avg * mult for _, _, qty, avg, _, mult, *_ in positions)
        equity = round(cash + market, 2)
        common = {
            "run_id": run,
            "account_id": account,
            "ts": ms(moment),
            "cash": round(cash, 2),
            "equity": equity,
            "realised_pnl": 0.0,
        }
        rows.append(
            PositionSnapshot(
                row_id=f"{run}:{account}:{ms(moment)}:account",
                instrument="",
                underlying="",
                quantity=0,
                avg_price=0.0,
                mark_price=0.0,
                market_value=round(market, 2),
                unrealised_pnl=round(unrealised, 2),
                delta=310.0,
                gamma=9.5,
                vega=1800.0,
                theta=-2400.0,
                **common,
            )
        )
        for instrument, underlying, qty, avg, mark, mult, delta, gamma, vega, theta in positions:
            rows.append(
                PositionSnapshot(
                    row_id=f"{run}:{account}:{ms(moment)}:{instrument}",
                    instrument=instrument,
                    underlying=underlying,
                    quantity=qty,
                    avg_price=avg,
                    mark_price=mark,
                    market_value=round(qty * mark * mult, 2),
                    unrealised_pnl=round(qty * (mark - avg) * mult, 2),
                    delta=delta,
                    gamma=gamma,
                    vega=vega,
                    theta=theta,
                    **common,
                )
            )
    return rows


def daily(run: str, account: str, days: Sequence[date], start: float) -> list[DailyPerformance]:
    """Two writes per day: an intraday row and the day's final row, which replaces it."""
    rows = []
    equity = start
    for number, day in enumerate(days):
        close = equity * (1.01 if number % 2 == 0 else 0.995)
        for moment, end, trades, wins in (
            (datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC), equity + 50, 2, 1),
            (datetime(day.year, day.month, day.day, 21, 0, tzinfo=UTC), close, 6, 4),
        ):
            rows.append(
                DailyPerformance(
                    row_id=f"{run}:{account}:{day.isoformat()}",
                    run_id=run,
                    account_id=account,
                    day=day,
                    ts=ms(moment),
                    start_equity=round(equity, 2),
                    end_equity=round(end, 2),
                    pnl=round(end - equity, 2),
                    return_pct=(end - equity) / equity,
                    realised_pnl=round((end - equity) * 0.6, 2),
                    commissions=4.5,
                    trades=trades,
                    winning_trades=wins,
                    losing_trades=trades - wins,
                    win_rate=wins / trades,
                    max_drawdown=0.012 + 0.001 * number,
                    high_water_mark=round(max(equity, end), 2),
                )
            )
        equity = close
    return rows


def signal_flow(
    run: str, account: str, strategy: str, times: Sequence[datetime]
) -> list[BaseModel]:
    """A signal per symbol per step; every other one approved and filled, the rest rejected."""
    rules = ("cooldown", "max_open_positions", "trading_hours")
    rows: list[BaseModel] = []
    for index, moment in enumerate(times):
        for symbol_index, symbol in enumerate(SYMBOLS):
            number = index * len(SYMBOLS) + symbol_index
            signal_id = f"{run}:{account}:{symbol}:{number}"
            price = 230.0 + index if symbol == "AAPL" else 410.0 - index
            approved = index % 2 == 0
            rows.append(
                Signal(
                    signal_id=signal_id,
                    run_id=run,
                    account_id=account,
                    ts=ms(moment),
                    symbol=symbol,
                    strategy=strategy,
                    direction="long" if number % 3 else "flat",
                    strength=0.4 + 0.05 * (number % 10),
                    price=price,
                    reason=f"{strategy} crossed on {symbol}",
                    indicators={"fast": price * 1.01, "slow": price},
                    config_version=1,
                )
            )
            decision_ts = ms(moment) + 5
            rows.append(
                Decision(
                    decision_id=f"{signal_id}:d",
                    signal_id=signal_id,
                    run_id=run,
                    account_id=account,
                    ts=decision_ts,
                    symbol=symbol,
                    instrument=symbol,
                    side="buy",
                    quantity=10 if approved else 0,
                    price=price,
                    approved=approved,
                    rule="ok" if approved else rules[number % len(rules)],
                    observed=float(number % 7),
                    limit=5.0,
                    reason="within limits" if approved else "limit reached",
                    config_version=1,
                )
            )
            if approved:
                rows.append(
                    Fill(
                        fill_id=f"{signal_id}:f",
                        order_id=f"{signal_id}:o",
                        run_id=run,
                        account_id=account,
                        ts=decision_ts + 1,
                        instrument=symbol,
                        underlying=symbol,
                        asset_class="equity",
                        side="buy",
                        quantity=10,
                        price=price + 0.01,
                        multiplier=1,
                        commission=1.0,
                        slippage=0.1,
                        realised_pnl=round(0.5 * (number % 5) - 1.0, 2),
                        reason="signal",
                    )
                )
    return rows


def market(run: str, times: Sequence[datetime]) -> list[BaseModel]:
    rows: list[BaseModel] = []
    for index, moment in enumerate(times):
        for partition, symbol in enumerate(SYMBOLS):
            last = 230.0 + index * 0.25 if symbol == "AAPL" else 410.0 - index * 0.5
            rows.append(
                MarketTick(
                    row_id=(partition << 40) | index,
                    run_id=run,
                    account_id="market",
                    ts=ms(moment),
                    symbol=symbol,
                    bid=last - 0.01,
                    ask=last + 0.01,
                    last=last,
                    volume=1000 + index,
                    source_partition=partition,
                    source_offset=index,
                )
            )
            if index % 4:
                continue  # the chain is sampled less often than the ticks
            for expiry in (date(2026, 12, 18), date(2027, 1, 15)):
                for strike_offset in (-10, 0, 10):
                    for right in ("call", "put"):
                        strike = round(last) + strike_offset
                        moneyness = (last - strike) / last
                        call_delta = min(max(0.5 + 4 * moneyness, 0.05), 0.95)
                        delta = call_delta if right == "call" else call_delta - 1
                        code = "C" if right == "call" else "P"
                        rows.append(
                            OptionGreeks(
                                row_id=(partition << 40) | (index << 8) | len(rows) % 256,
                                run_id=run,
                                account_id="market",
                                ts=ms(moment),
                                underlying=symbol,
                                contract=f"{symbol}{expiry:%y%m%d}{code}{strike * 1000:08d}",
                                expiry=expiry,
                                strike=float(strike),
                                right=right,
                                spot=last,
                                iv=0.22 + 0.01 * abs(strike_offset) / 10,
                                price=5.0,
                                bid=4.9,
                                ask=5.1,
                                delta=delta,
                                gamma=0.02,
                                vega=35.0,
                                theta=-12.0,
                                rho=8.0,
                                days_to_expiry=float((expiry - moment.date()).days),
                            )
                        )
    return rows


@cache
def live_rows() -> tuple[BaseModel, ...]:
    times = session_times(SESSION_OPEN, len(DAYS))
    rows: list[BaseModel] = []
    strategies = {"alpha": "ma_cross", "beta": "rsi_reversion"}
    for account in LIVE_ACCOUNTS:
        rows += snapshots(LIVE, account, times)
        rows += daily(LIVE, account, DAYS, start=100_000.0)
        rows += signal_flow(LIVE, account, strategies[account], times)
        for version, status in enumerate(("running", "paused", "running"), start=1):
            final_status = "paused" if account == "beta" and version == 3 else status
            rows.append(
                TradingState(
                    run_id=LIVE,
                    account_id=account,
                    ts=ms(SESSION_OPEN + timedelta(hours=version)),
                    status=final_status,
                    reason=f"command {version}",
                    command_id=f"cmd-{account}-{version}",
                    config_version=1,
                    version=version,
                    equity=100_000.0 + version,
                    cash=50_000.0,
                    open_positions=3,
                )
            )
        rows.append(
            Alert(
                alert_id=f"{LIVE}:{account}:drawdown",
                run_id=LIVE,
                account_id=account,
                ts=ms(SESSION_OPEN + timedelta(hours=1)),
                severity="warning",
                kind="max_drawdown",
                message="drawdown above 80% of the limit",
                value=0.041,
                threshold=0.05,
            )
        )
    rows += market(LIVE, times)
    rows += [
        AlgorithmConfig(account_id="alpha", symbols=list(SYMBOLS), strategy=MovingAverageCross()),
        AlgorithmConfig(account_id="beta", symbols=list(SYMBOLS), strategy=RsiReversion()),
    ]
    return tuple(rows)


@cache
def backtest_rows() -> tuple[BaseModel, ...]:
    times = session_times(BACKTEST_OPEN, 2)
    days = (BACKTEST_OPEN.date(), BACKTEST_OPEN.date() + timedelta(days=1))
    rows: list[BaseModel] = []
    for run, accounts in BACKTEST_ACCOUNTS.items():
        configs = [
            AlgorithmConfig(
                account_id=account,
                symbols=list(SYMBOLS),
                strategy=MovingAverageCross(fast=5 + 5 * number, slow=30),
            )
            for number, account in enumerate(accounts)
        ]
        dumped = [config.model_dump(mode="json") for config in configs]
        # One run records its configs as a list, the other keyed by account: both are read.
        configs_json = json.dumps(
            dumped if run == SWEEP_RUN else {c["account_id"]: c for c in dumped}
        )
        for account in accounts:
            rows += snapshots(run, account, times)
            rows += daily(run, account, days, start=50_000.0)
            rows += signal_flow(run, account, "ma_cross", times)
        common: dict[str, Any] = {
            "run_id": run,
            "source": "file:///data/ticks-2026-10.jsonl",
            "from_ts": ms(times[0]),
            "to_ts": ms(times[-1]),
            "accounts": list(accounts),
            "configs_json": configs_json,
            "created_ts": ms(datetime(2026, 11, 1, tzinfo=UTC)) + len(run),
        }
        rows.append(
            BacktestRun(
                status="running", progress=0.5, ticks=1000, updated_ts=ms(times[0]), **common
            )
        )
        rows.append(
            BacktestRun(
                status="completed",
                progress=1.0,
                ticks=2000,
                metrics={"sharpe": 1.4, "total_return": 0.021, "max_drawdown": 0.013},
                updated_ts=ms(times[-1]),
                **common,
            )
        )
    return tuple(rows)


def insert(ch: Client, records: Iterable[BaseModel]) -> None:
    by_model: dict[type[BaseModel], list[BaseModel]] = defaultdict(list)
    for record in records:
        by_model[type(record)].append(record)
    for model, group in by_model.items():
        ch.insert(
            table_of(model),
            to_columns(group),
            column_names=list(column_names(model)),
            column_oriented=True,
        )


@pytest.fixture
def filled(ch: Client) -> Client:
    """The test database with live and backtest rows; snapshots are written twice (a replay)."""
    live = live_rows()
    insert(ch, live)
    insert(ch, [row for row in live if isinstance(row, PositionSnapshot)])
    insert(ch, backtest_rows())
    return ch


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
