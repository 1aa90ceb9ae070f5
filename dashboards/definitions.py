"""The strikeflow dashboards, defined once; dashboards/json/*.json is generated from them.

Conventions every query follows:
- Tables are unqualified: the datasource's `defaultDatabase` (`strikeflow` when provisioned)
  names the database, so the same SQL runs on the tests' per-test databases.
- Sums and counts read ReplacingMergeTree tables with FINAL, because a replayed write (Bytewax
  recovery is at-least-once) leaves a duplicate until the next merge. `argMax`/`max` need no
  FINAL: a duplicate has the same values.
- Event times are DateTime64(3, 'UTC'), filtered with `$__timeFilter_ms`; "now" on a stat panel
  is the end of the dashboard's range (`$__toTime_ms`), so looking at the past shows the past.
- An account's equity and cash come from its account row in `position_snapshots`
  (`instrument = ''`); position rows carry the positions and their Greeks.
- Multi-value variables are applied through `$__conditionalAll`, so "All" becomes `1=1`
  instead of a long IN list.
"""

from __future__ import annotations

from dashboards.model import (
    Column,
    Dashboard,
    Panel,
    Row,
    Variable,
    num,
    text,
    time_col,
)

# -- shared SQL fragments ------------------------------------------------------------------------

RUN = "run_id = ${run:singlequote}"


def accounts(column: str = "account_id") -> str:
    return f"$__conditionalAll({column} IN (${{account:singlequote}}), $account)"


def symbols(column: str = "symbol") -> str:
    return f"$__conditionalAll({column} IN (${{symbol:singlequote}}), $symbol)"


def runs(column: str = "run_id") -> str:
    return f"$__conditionalAll({column} IN (${{run:singlequote}}), $run)"


def latest_snapshot_per_account() -> str:
    """(account_id, ts) of each account's last snapshot up to the end of the range."""
    return (
        "(account_id, ts) IN (\n"
        "    SELECT account_id, max(ts) FROM position_snapshots\n"
        f"    WHERE {RUN} AND {accounts()} AND instrument = '' AND ts <= $__toTime_ms\n"
        "    GROUP BY account_id)"
    )


def latest_account_value(column: str, alias: str) -> str:
    """Sum over the selected accounts of `column` on each account's latest account row."""
    return (
        f"SELECT sum(latest) AS {alias}\n"
        "FROM (\n"
        f"  SELECT account_id, argMax({column}, ts) AS latest\n"
        "  FROM position_snapshots\n"
        f"  WHERE {RUN} AND {accounts()} AND instrument = '' AND ts <= $__toTime_ms\n"
        "  GROUP BY account_id)"
    )


# -- panel options -------------------------------------------------------------------------------

STAT_OPTIONS = {
    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    "colorMode": "value",
    "graphMode": "none",
    "justifyMode": "auto",
    "textMode": "auto",
}
TABLE_OPTIONS = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
LEGEND = {"displayMode": "list", "placement": "bottom", "showLegend": True}
TIMESERIES_OPTIONS = {"legend": LEGEND, "tooltip": {"mode": "multi", "sort": "desc"}}
LINES = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "showPoints": "never"}
STACKED_BARS = {
    "drawStyle": "bars",
    "fillOpacity": 80,
    "lineWidth": 1,
    "stacking": {"mode": "normal", "group": "A"},
}
BARS = {"drawStyle": "bars", "fillOpacity": 80, "lineWidth": 1}
PER_ACCOUNT = "${__field.labels.account_id}"
PER_SYMBOL = "${__field.labels.symbol}"


def color_by_value(field: str, colors: dict[str, str]) -> dict[str, object]:
    """A table override colouring the cell background of `field` by its text value."""
    return {
        "matcher": {"id": "byName", "options": field},
        "properties": [
            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
            {
                "id": "mappings",
                "value": [
                    {
                        "type": "value",
                        "options": {
                            value: {"color": color, "index": index}
                            for index, (value, color) in enumerate(colors.items())
                        },
                    }
                ],
            },
        ],
    }


STATUS_COLORS = {
    "running": "green",
    "paused": "yellow",
    "reduce_only": "orange",
    "halted": "red",
    "stopped": "text",
}
SEVERITY_COLORS = {"info": "blue", "warning": "orange", "critical": "red"}
VERDICT_COLORS = {"approved": "green", "rejected": "red"}


def stat(
    title: str, sql: str, column: str, unit: str, description: str, decimals: int | None = None
) -> Panel:
    return Panel(
        title=title,
        type="stat",
        sql=sql,
        columns=num(column),
        width=4,
        height=4,
        unit=unit,
        decimals=decimals,
        description=description,
        options=STAT_OPTIONS,
    )


# -- template variables --------------------------------------------------------------------------

RUN_VARIABLE = Variable(
    name="run",
    label="Run",
    sql=(
        "SELECT run_id FROM (\n"
        "  SELECT 'live' AS run_id\n"
        "  UNION DISTINCT\n"
        "  SELECT run_id FROM backtest_runs)\n"
        "ORDER BY run_id != 'live', run_id"
    ),
    default="live",
)

ACCOUNT_VARIABLE = Variable(
    name="account",
    label="Account",
    sql=(
        "SELECT account_id FROM (\n"
        f"  SELECT DISTINCT account_id FROM auto_trade_state WHERE {RUN}\n"
        "  UNION DISTINCT\n"
        f"  SELECT DISTINCT account_id FROM position_snapshots WHERE {RUN})\n"
        "ORDER BY account_id"
    ),
    multi=True,
    include_all=True,
)

SYMBOL_VARIABLE = Variable(
    name="symbol",
    label="Symbol",
    sql=(
        "SELECT symbol FROM (\n"
        f"  SELECT DISTINCT symbol FROM market_ticks WHERE {RUN}\n"
        "  UNION DISTINCT\n"
        f"  SELECT DISTINCT symbol FROM auto_signals WHERE {RUN}\n"
        "  UNION DISTINCT\n"
        f"  SELECT DISTINCT underlying FROM position_snapshots WHERE {RUN} AND underlying != '')\n"
        "ORDER BY symbol"
    ),
    multi=True,
    include_all=True,
)

BACKTEST_RUN_VARIABLE = Variable(
    name="run",
    label="Backtest run",
    sql="SELECT run_id FROM backtest_runs FINAL ORDER BY created_ts DESC, run_id",
    multi=True,
    include_all=True,
)


# -- control center ------------------------------------------------------------------------------


def control_center() -> Dashboard:
    trading_state = Panel(
        title="Trading state",
        type="table",
        sql=(
            "SELECT account_id, status, reason, ts AS updated, command_id, config_version,\n"
            "       equity, cash, open_positions\n"
            "FROM auto_trade_state FINAL\n"
            f"WHERE {RUN} AND {accounts()}\n"
            "ORDER BY account_id"
        ),
        columns=(
            *text("account_id", "status", "reason"),
            time_col("updated"),
            *text("command_id"),
            *num("config_version", "equity", "cash", "open_positions"),
        ),
        width=24,
        height=6,
        description="The state the flow applied last, per account (highest version wins).",
        options=TABLE_OPTIONS,
        overrides=(color_by_value("status", STATUS_COLORS),),
    )
    equity = stat(
        "Equity",
        latest_account_value("equity", "equity_total"),
        "equity_total",
        "currencyUSD",
        "Sum of the selected accounts' equity at their latest snapshot.",
    )
    cash = stat(
        "Cash",
        latest_account_value("cash", "cash_total"),
        "cash_total",
        "currencyUSD",
        "Sum of the selected accounts' cash at their latest snapshot.",
    )
    pnl_today = stat(
        "PnL today",
        (
            "SELECT sum(day_pnl) AS pnl_today\n"
            "FROM (\n"
            "  SELECT account_id, argMax(pnl, ts) AS day_pnl\n"
            "  FROM daily_performance\n"
            f"  WHERE {RUN} AND {accounts()} AND ts <= $__toTime_ms\n"
            "    AND day = (\n"
            "      SELECT max(day) FROM daily_performance\n"
            f"      WHERE {RUN} AND ts <= $__toTime_ms)\n"
            "  GROUP BY account_id)"
        ),
        "pnl_today",
        "currencyUSD",
        "PnL of the latest trading day (exchange time zone), from daily_performance.",
    )
    unrealised = stat(
        "Unrealised PnL",
        latest_account_value("unrealised_pnl", "unrealised_total"),
        "unrealised_total",
        "currencyUSD",
        "Open positions' unrealised PnL, from the accounts' latest snapshot.",
    )
    open_positions = Panel(
        title="Open positions and gross exposure",
        type="stat",
        sql=(
            "SELECT count() AS open_positions, sum(abs(market_value)) AS gross_exposure\n"
            "FROM position_snapshots FINAL\n"
            f"WHERE {RUN} AND {accounts()} AND instrument != '' AND quantity != 0\n"
            f"  AND {latest_snapshot_per_account()}"
        ),
        columns=num("open_positions", "gross_exposure"),
        width=8,
        height=4,
        description="Positions in the accounts' latest snapshot and their absolute market value.",
        options=STAT_OPTIONS,
        overrides=(
            {
                "matcher": {"id": "byName", "options": "gross_exposure"},
                "properties": [{"id": "unit", "value": "currencyUSD"}],
            },
        ),
    )
    equity_curve = Panel(
        title="Equity curve",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, account_id, argMax(equity, ts) AS equity_usd\n"
            "FROM position_snapshots\n"
            f"WHERE {RUN} AND {accounts()} AND instrument = '' AND $__timeFilter_ms(ts)\n"
            "GROUP BY time, account_id\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num("equity_usd")),
        unit="currencyUSD",
        display_name=PER_ACCOUNT,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Each account's equity at the last snapshot of every interval.",
    )
    exposure = Panel(
        title="Exposure",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, account_id,\n"
            "       argMax(gross, ts) AS gross_exposure, argMax(net, ts) AS net_exposure\n"
            "FROM (\n"
            "  SELECT ts, account_id,\n"
            "         sumIf(abs(market_value), instrument != '') AS gross,\n"
            "         sumIf(market_value, instrument != '') AS net\n"
            "  FROM position_snapshots FINAL\n"
            f"  WHERE {RUN} AND {accounts()} AND $__timeFilter_ms(ts)\n"
            "  GROUP BY ts, account_id)\n"
            "GROUP BY time, account_id\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num("gross_exposure", "net_exposure")),
        unit="currencyUSD",
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description=(
            "Gross (sum of absolute market values) and net exposure per account; the account "
            "row keeps a flat account at zero instead of a gap."
        ),
    )
    positions = Panel(
        title="Open positions",
        type="table",
        sql=(
            "SELECT account_id, instrument, underlying, quantity, avg_price, mark_price,\n"
            "       market_value, unrealised_pnl, realised_pnl, delta, gamma, vega, theta,\n"
            "       ts AS as_of\n"
            "FROM position_snapshots FINAL\n"
            f"WHERE {RUN} AND {accounts()} AND instrument != '' AND quantity != 0\n"
            f"  AND {latest_snapshot_per_account()}\n"
            "ORDER BY account_id, abs(market_value) DESC"
        ),
        columns=(
            *text("account_id", "instrument", "underlying"),
            *num(
                "quantity",
                "avg_price",
                "mark_price",
                "market_value",
                "unrealised_pnl",
                "realised_pnl",
                "delta",
                "gamma",
                "vega",
                "theta",
            ),
            time_col("as_of"),
        ),
        width=24,
        height=8,
        options=TABLE_OPTIONS,
        description=(
            "Positions in each account's latest snapshot. Greeks are position Greeks: delta in "
            "shares, vega per 1.00 of volatility, theta per year."
        ),
    )
    alerts = Panel(
        title="Latest alerts",
        type="table",
        sql=(
            "SELECT ts AS time, account_id, severity, kind, message, value, threshold\n"
            "FROM alerts FINAL\n"
            f"WHERE {RUN} AND {accounts()} AND $__timeFilter_ms(ts)\n"
            "ORDER BY ts DESC\n"
            "LIMIT 100"
        ),
        columns=(
            time_col(),
            *text("account_id", "severity", "kind", "message"),
            *num("value", "threshold"),
        ),
        width=24,
        height=8,
        options=TABLE_OPTIONS,
        overrides=(color_by_value("severity", SEVERITY_COLORS),),
        description="The 100 most recent alerts in the time range.",
    )
    return Dashboard(
        uid="strikeflow-control",
        title="strikeflow / Control center",
        description="Trading state, equity, PnL, positions and alerts per account.",
        variables=(RUN_VARIABLE, ACCOUNT_VARIABLE),
        items=(
            Row("Accounts"),
            trading_state,
            equity,
            cash,
            pnl_today,
            unrealised,
            open_positions,
            equity_curve,
            exposure,
            Row("Positions and alerts"),
            positions,
            alerts,
        ),
        refresh="10s",
    )


# -- live signal feed ----------------------------------------------------------------------------


def signal_feed() -> Dashboard:
    signal_filter = f"{RUN} AND {accounts()} AND {symbols()} AND $__timeFilter_ms(ts)"
    signal_count = stat(
        "Signals emitted",
        f"SELECT count() AS signals FROM auto_signals FINAL WHERE {signal_filter}",
        "signals",
        "short",
        "Signals emitted in the time range.",
    )
    verdicts = Panel(
        title="Verdicts",
        type="stat",
        sql=(
            "SELECT countIf(approved) AS approved_count, countIf(NOT approved) AS rejected_count\n"
            f"FROM auto_decisions FINAL WHERE {signal_filter}"
        ),
        columns=num("approved_count", "rejected_count"),
        width=8,
        height=4,
        unit="short",
        options=STAT_OPTIONS,
        description="The orchestrator's verdicts on the signals in the time range.",
    )
    approval_rate = stat(
        "Approval rate",
        (
            "SELECT countIf(approved) / nullIf(count(), 0) AS approval_rate\n"
            f"FROM auto_decisions FINAL WHERE {signal_filter}"
        ),
        "approval_rate",
        "percentunit",
        "Share of decisions approved (empty when there were none).",
        decimals=1,
    )
    fills = Panel(
        title="Fills",
        type="stat",
        sql=(
            "SELECT count() AS fills, sum(commission) AS commissions\n"
            "FROM paper_fills FINAL\n"
            f"WHERE {RUN} AND {accounts()} AND {symbols('underlying')} AND $__timeFilter_ms(ts)"
        ),
        columns=num("fills", "commissions"),
        width=8,
        height=4,
        options=STAT_OPTIONS,
        overrides=(
            {
                "matcher": {"id": "byName", "options": "commissions"},
                "properties": [{"id": "unit", "value": "currencyUSD"}],
            },
        ),
        description="Paper fills in the time range and the commissions they paid.",
    )
    signals_over_time = Panel(
        title="Signals by direction",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, direction, count() AS signals\n"
            f"FROM auto_signals FINAL WHERE {signal_filter}\n"
            "GROUP BY time, direction\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("direction"), *num("signals")),
        unit="short",
        display_name="${__field.labels.direction}",
        custom=STACKED_BARS,
        options=TIMESERIES_OPTIONS,
        description="Signals per interval, stacked by direction.",
    )
    rejections_over_time = Panel(
        title="Rejections by rule",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, rule, count() AS rejections\n"
            f"FROM auto_decisions FINAL WHERE {signal_filter} AND NOT approved\n"
            "GROUP BY time, rule\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("rule"), *num("rejections")),
        unit="short",
        display_name="${__field.labels.rule}",
        custom=STACKED_BARS,
        options=TIMESERIES_OPTIONS,
        description="Rejected signals per interval, stacked by the rule that rejected them.",
    )
    rejections_total = Panel(
        title="Rejections by rule (total)",
        type="piechart",
        sql=(
            "SELECT rule, count() AS rejections\n"
            f"FROM auto_decisions FINAL WHERE {signal_filter} AND NOT approved\n"
            "GROUP BY rule\n"
            "ORDER BY rejections DESC"
        ),
        columns=(*text("rule"), *num("rejections")),
        width=8,
        height=8,
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
            "pieType": "donut",
            "legend": {"displayMode": "table", "placement": "right", "values": ["value"]},
        },
        description="Which rules rejected how many signals in the time range.",
    )
    signals_table = Panel(
        title="Signals",
        type="table",
        sql=(
            "SELECT ts AS time, account_id, symbol, strategy, direction, strength, price,\n"
            "       reason, config_version\n"
            f"FROM auto_signals FINAL WHERE {signal_filter}\n"
            "ORDER BY ts DESC\n"
            "LIMIT 500"
        ),
        columns=(
            time_col(),
            *text("account_id", "symbol", "strategy", "direction"),
            *num("strength", "price"),
            *text("reason"),
            *num("config_version"),
        ),
        width=24,
        height=9,
        options=TABLE_OPTIONS,
        description="The 500 most recent signals with the strategy's reason.",
    )
    decisions_table = Panel(
        title="Decisions",
        type="table",
        sql=(
            "SELECT d.ts AS time, d.account_id AS account_id, d.symbol AS symbol,\n"
            "       s.strategy AS strategy, s.direction AS direction,\n"
            "       d.instrument AS instrument, d.side AS side, d.quantity AS quantity,\n"
            "       d.price AS price, if(d.approved, 'approved', 'rejected') AS verdict,\n"
            "       d.rule AS rule, d.observed AS observed, d.`limit` AS `limit`,\n"
            "       d.reason AS decision_reason, s.reason AS signal_reason\n"
            "FROM auto_decisions AS d FINAL\n"
            "LEFT JOIN (\n"
            "  SELECT signal_id, strategy, direction, reason\n"
            "  FROM auto_signals FINAL\n"
            f"  WHERE {signal_filter}) AS s ON s.signal_id = d.signal_id\n"
            f"WHERE d.run_id = ${{run:singlequote}} AND {accounts('d.account_id')}\n"
            f"  AND {symbols('d.symbol')} AND $__timeFilter_ms(d.ts)\n"
            "ORDER BY d.ts DESC\n"
            "LIMIT 500"
        ),
        columns=(
            time_col(),
            *text("account_id", "symbol", "strategy", "direction", "instrument", "side"),
            *num("quantity", "price"),
            *text("verdict", "rule"),
            *num("observed", "limit"),
            *text("decision_reason", "signal_reason"),
        ),
        width=24,
        height=9,
        options=TABLE_OPTIONS,
        overrides=(color_by_value("verdict", VERDICT_COLORS),),
        description=(
            "The 500 most recent decisions: the rule that decided, the value it observed "
            "against its limit, and the signal's strategy and reason."
        ),
    )
    fills_table = Panel(
        title="Paper fills",
        type="table",
        sql=(
            "SELECT ts AS time, account_id, instrument, underlying, side, quantity, price,\n"
            "       commission, slippage, realised_pnl, reason\n"
            "FROM paper_fills FINAL\n"
            f"WHERE {RUN} AND {accounts()} AND {symbols('underlying')} AND $__timeFilter_ms(ts)\n"
            "ORDER BY ts DESC\n"
            "LIMIT 500"
        ),
        columns=(
            time_col(),
            *text("account_id", "instrument", "underlying", "side"),
            *num("quantity", "price", "commission", "slippage", "realised_pnl"),
            *text("reason"),
        ),
        width=24,
        height=8,
        options=TABLE_OPTIONS,
        description="The 500 most recent paper executions.",
    )
    return Dashboard(
        uid="strikeflow-signals",
        title="strikeflow / Live signal feed",
        description="Signals, the orchestrator's decisions with their reasons, and fills.",
        variables=(RUN_VARIABLE, ACCOUNT_VARIABLE, SYMBOL_VARIABLE),
        items=(
            signal_count,
            verdicts,
            approval_rate,
            fills,
            signals_over_time,
            rejections_over_time,
            rejections_total,
            Row("Feed"),
            signals_table,
            decisions_table,
            fills_table,
        ),
        time_from="now-1h",
        refresh="5s",
    )


# -- analytics -----------------------------------------------------------------------------------

DAILY = f"{RUN} AND {accounts()} AND $__timeFilter_ms(ts)"


def per_account_results(filter_sql: str, group: str = "account_id") -> str:
    """PnL, return, trades, win rate and worst drawdown per `group` from daily_performance."""
    return (
        f"SELECT {group}, sum(pnl) AS total_pnl,\n"
        "       argMax(end_equity, day) / nullIf(argMin(start_equity, day), 0) - 1"
        " AS total_return,\n"
        "       argMax(end_equity, day) AS final_equity,\n"
        "       sum(trades) AS trade_count,\n"
        "       sum(winning_trades) / nullIf(sum(winning_trades) + sum(losing_trades), 0)"
        " AS win_rate,\n"
        "       max(max_drawdown) AS worst_drawdown\n"
        "FROM daily_performance FINAL\n"
        f"WHERE {filter_sql}\n"
        f"GROUP BY {group}"
    )


def analytics() -> Dashboard:
    total_pnl = stat(
        "PnL",
        f"SELECT sum(pnl) AS total_pnl FROM daily_performance FINAL WHERE {DAILY}",
        "total_pnl",
        "currencyUSD",
        "Sum of the daily PnL in the time range.",
    )
    total_return = stat(
        "Return",
        (
            "SELECT sum(last_equity) / nullIf(sum(first_equity), 0) - 1 AS total_return\n"
            "FROM (\n"
            "  SELECT account_id, argMin(start_equity, day) AS first_equity,\n"
            "         argMax(end_equity, day) AS last_equity\n"
            f"  FROM daily_performance FINAL WHERE {DAILY}\n"
            "  GROUP BY account_id)"
        ),
        "total_return",
        "percentunit",
        "Equity at the end of the range over equity at its start, across the selected accounts.",
        decimals=2,
    )
    win_rate = stat(
        "Win rate",
        (
            "SELECT sum(winning_trades) / nullIf(sum(winning_trades) + sum(losing_trades), 0)"
            " AS win_rate\n"
            f"FROM daily_performance FINAL WHERE {DAILY}"
        ),
        "win_rate",
        "percentunit",
        "Winning round trips over all closed round trips in the time range.",
        decimals=1,
    )
    drawdown = stat(
        "Max drawdown",
        f"SELECT max(max_drawdown) AS worst_drawdown FROM daily_performance FINAL WHERE {DAILY}",
        "worst_drawdown",
        "percentunit",
        "The deepest drawdown from the high-water mark reported on any day in the range.",
        decimals=2,
    )
    trades = stat(
        "Trades",
        f"SELECT sum(trades) AS trade_count FROM daily_performance FINAL WHERE {DAILY}",
        "trade_count",
        "short",
        "Trades reported by daily_performance for the days in the time range.",
    )
    daily_pnl = Panel(
        title="Daily PnL",
        type="timeseries",
        sql=(
            "SELECT toDateTime(day, 'UTC') AS time, account_id, argMax(pnl, ts) AS daily_pnl\n"
            f"FROM daily_performance WHERE {DAILY}\n"
            "GROUP BY day, account_id\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num("daily_pnl")),
        unit="currencyUSD",
        display_name=PER_ACCOUNT,
        custom=BARS,
        options=TIMESERIES_OPTIONS,
        description="PnL per trading day and account (the day's latest row).",
    )
    cumulative_return = Panel(
        title="Cumulative return",
        type="timeseries",
        sql=(
            "SELECT time, account_id,\n"
            "       end_eq / first_value(start_eq) OVER (\n"
            "         PARTITION BY account_id ORDER BY time\n"
            "         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - 1 AS cumulative_return\n"
            "FROM (\n"
            "  SELECT toDateTime(day, 'UTC') AS time, account_id,\n"
            "         argMax(start_equity, ts) AS start_eq, argMax(end_equity, ts) AS end_eq\n"
            f"  FROM daily_performance WHERE {DAILY}\n"
            "  GROUP BY day, account_id)\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num("cumulative_return")),
        unit="percentunit",
        display_name=PER_ACCOUNT,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Each day's closing equity over the first day's opening equity in the range.",
    )
    drawdown_curve = Panel(
        title="Drawdown",
        type="timeseries",
        sql=(
            "SELECT time, account_id,\n"
            "       equity_at / max(equity_at) OVER (\n"
            "         PARTITION BY account_id ORDER BY time\n"
            "         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - 1 AS drawdown\n"
            "FROM (\n"
            "  SELECT $__timeInterval_ms(ts) AS time, account_id, argMax(equity, ts) AS equity_at\n"
            "  FROM position_snapshots\n"
            f"  WHERE {RUN} AND {accounts()} AND instrument = '' AND $__timeFilter_ms(ts)\n"
            "  GROUP BY time, account_id)\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num("drawdown")),
        unit="percentunit",
        display_name=PER_ACCOUNT,
        custom={**LINES, "fillOpacity": 20},
        options=TIMESERIES_OPTIONS,
        description="Equity below its running peak within the time range (0 at a new high).",
    )
    per_strategy = Panel(
        title="Results per account and strategy",
        type="table",
        sql=(
            "SELECT if(s.strategies != '', s.strategies, '(no signals)') AS strategy,\n"
            "       p.account_id AS account_id, p.total_pnl AS total_pnl,\n"
            "       p.total_return AS total_return, p.final_equity AS final_equity,\n"
            "       p.trade_count AS trade_count, p.win_rate AS win_rate,\n"
            "       p.worst_drawdown AS worst_drawdown\n"
            "FROM (\n"
            f"{per_account_results(DAILY)}) AS p\n"
            "LEFT JOIN (\n"
            "  SELECT account_id,\n"
            "         arrayStringConcat(arraySort(groupUniqArray(strategy)), ', ') AS strategies\n"
            "  FROM auto_signals\n"
            f"  WHERE {DAILY}\n"
            "  GROUP BY account_id) AS s ON s.account_id = p.account_id\n"
            "ORDER BY total_pnl DESC"
        ),
        columns=(
            *text("strategy", "account_id"),
            *num(
                "total_pnl",
                "total_return",
                "final_equity",
                "trade_count",
                "win_rate",
                "worst_drawdown",
            ),
        ),
        width=16,
        height=8,
        options=TABLE_OPTIONS,
        overrides=tuple(
            {
                "matcher": {"id": "byName", "options": name},
                "properties": [{"id": "unit", "value": unit}],
            }
            for name, unit in (
                ("total_pnl", "currencyUSD"),
                ("final_equity", "currencyUSD"),
                ("total_return", "percentunit"),
                ("win_rate", "percentunit"),
                ("worst_drawdown", "percentunit"),
            )
        ),
        description=(
            "Performance per account with the strategies its signals came from (an account "
            "trades one strategy per config version)."
        ),
    )
    pnl_by_strategy = Panel(
        title="PnL by strategy",
        type="barchart",
        sql=(
            "SELECT strategy, sum(total_pnl) AS strategy_pnl\n"
            "FROM (\n"
            "  SELECT if(s.strategies != '', s.strategies, '(no signals)') AS strategy,\n"
            "         p.total_pnl AS total_pnl\n"
            "  FROM (\n"
            f"{per_account_results(DAILY)}) AS p\n"
            "  LEFT JOIN (\n"
            "    SELECT account_id,\n"
            "           arrayStringConcat(arraySort(groupUniqArray(strategy)), ', ')"
            " AS strategies\n"
            f"    FROM auto_signals WHERE {DAILY}\n"
            "    GROUP BY account_id) AS s ON s.account_id = p.account_id)\n"
            "GROUP BY strategy\n"
            "ORDER BY strategy_pnl DESC"
        ),
        columns=(*text("strategy"), *num("strategy_pnl")),
        width=8,
        height=8,
        unit="currencyUSD",
        options={"orientation": "horizontal", "xField": "strategy", "legend": LEGEND},
        description="PnL in the time range summed over the accounts trading each strategy.",
    )
    return Dashboard(
        uid="strikeflow-analytics",
        title="strikeflow / Analytics",
        description="Daily performance, returns, drawdown, win rate and per-strategy results.",
        variables=(RUN_VARIABLE, ACCOUNT_VARIABLE),
        items=(
            total_pnl,
            total_return,
            win_rate,
            drawdown,
            trades,
            daily_pnl,
            cumulative_return,
            drawdown_curve,
            Row("Strategies"),
            per_strategy,
            pnl_by_strategy,
            Row("Days"),
            Panel(
                title="Daily performance",
                type="table",
                sql=(
                    "SELECT day, account_id, start_equity, end_equity, pnl, return_pct,\n"
                    "       realised_pnl, commissions, trades, winning_trades, losing_trades,\n"
                    "       win_rate, max_drawdown, high_water_mark\n"
                    f"FROM daily_performance FINAL WHERE {DAILY}\n"
                    "ORDER BY day DESC, account_id"
                ),
                columns=(
                    Column("day", "date"),
                    *text("account_id"),
                    *num(
                        "start_equity",
                        "end_equity",
                        "pnl",
                        "return_pct",
                        "realised_pnl",
                        "commissions",
                        "trades",
                        "winning_trades",
                        "losing_trades",
                        "win_rate",
                        "max_drawdown",
                        "high_water_mark",
                    ),
                ),
                width=24,
                height=9,
                options=TABLE_OPTIONS,
                description="One row per account and trading day, as the flow wrote it.",
            ),
        ),
        time_from="now-30d",
        refresh="1m",
    )


# -- Greeks and risk -----------------------------------------------------------------------------

GREEKS = (
    ("delta", "Net delta", "shares"),
    ("gamma", "Net gamma", "shares per 1.00 of the underlying"),
    ("vega", "Net vega", "currency per 1.00 of volatility"),
    ("theta", "Net theta", "currency per year"),
)


def greek_per_account(greek: str, title: str, units: str) -> Panel:
    # The account row is kept (its Greeks excluded) so an account without positions shows 0.
    return Panel(
        title=f"{title} per account",
        type="timeseries",
        sql=(
            f"SELECT $__timeInterval_ms(ts) AS time, account_id, argMax(net, ts) AS net_{greek}\n"
            "FROM (\n"
            f"  SELECT ts, account_id, sumIf({greek}, instrument != '') AS net\n"
            "  FROM position_snapshots FINAL\n"
            f"  WHERE {RUN} AND {accounts()} AND $__timeFilter_ms(ts)\n"
            f"    AND (instrument = '' OR {symbols('underlying')})\n"
            "  GROUP BY ts, account_id)\n"
            "GROUP BY time, account_id\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num(f"net_{greek}")),
        width=6,
        height=8,
        display_name=PER_ACCOUNT,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description=f"Sum of the position {greek}s of the selected symbols ({units}).",
    )


def greek_per_symbol(greek: str, title: str, units: str) -> Panel:
    # Accounts snapshot at different times: take each account's last value per interval first,
    # then add the accounts up.
    return Panel(
        title=f"{title} per symbol",
        type="timeseries",
        sql=(
            f"SELECT time, symbol, sum(net) AS net_{greek}\n"
            "FROM (\n"
            "  SELECT $__timeInterval_ms(ts) AS time, account_id, underlying AS symbol,\n"
            "         argMax(net_at, ts) AS net\n"
            "  FROM (\n"
            f"    SELECT ts, account_id, underlying, sum({greek}) AS net_at\n"
            "    FROM position_snapshots FINAL\n"
            f"    WHERE {RUN} AND {accounts()} AND instrument != ''\n"
            f"      AND {symbols('underlying')} AND $__timeFilter_ms(ts)\n"
            "    GROUP BY ts, account_id, underlying)\n"
            "  GROUP BY time, account_id, symbol)\n"
            "GROUP BY time, symbol\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("symbol"), *num(f"net_{greek}")),
        width=6,
        height=8,
        display_name=PER_SYMBOL,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description=f"Sum over the selected accounts of the position {greek}s ({units}).",
    )


def greeks_and_risk() -> Dashboard:
    chain_filter = f"{RUN} AND {symbols('underlying')}"
    chain = Panel(
        title="Option chain",
        type="table",
        sql=(
            "SELECT underlying, contract, expiry, strike, `right`, days_to_expiry, spot,\n"
            "       bid, ask, price, iv, delta, gamma, vega, theta, rho, ts AS as_of\n"
            "FROM option_greeks FINAL\n"
            f"WHERE {chain_filter}\n"
            "  AND (underlying, ts) IN (\n"
            "    SELECT underlying, max(ts) FROM option_greeks\n"
            f"    WHERE {chain_filter} AND ts <= $__toTime_ms\n"
            "    GROUP BY underlying)\n"
            "ORDER BY underlying, expiry, strike, `right`"
        ),
        columns=(
            *text("underlying", "contract"),
            Column("expiry", "date"),
            *num("strike"),
            *text("right"),
            *num(
                "days_to_expiry",
                "spot",
                "bid",
                "ask",
                "price",
                "iv",
                "delta",
                "gamma",
                "vega",
                "theta",
                "rho",
            ),
            time_col("as_of"),
        ),
        width=24,
        height=10,
        options=TABLE_OPTIONS,
        description=(
            "The latest sampled chain per underlying: model price and Greeks per contract "
            "(vega per 1.00 of volatility, theta per year, rho per 1.00 of rate)."
        ),
    )
    atm_iv = Panel(
        title="At-the-money implied volatility",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, underlying AS symbol,\n"
            "       avgIf(iv, abs(delta) BETWEEN 0.4 AND 0.6) AS atm_iv\n"
            "FROM option_greeks FINAL\n"
            f"WHERE {chain_filter} AND $__timeFilter_ms(ts)\n"
            "GROUP BY time, symbol\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("symbol"), *num("atm_iv")),
        width=12,
        unit="percentunit",
        display_name=PER_SYMBOL,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Mean implied volatility of the contracts with |delta| between 0.4 and 0.6.",
    )
    spot = Panel(
        title="Underlying price",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, symbol, argMax(last, ts) AS last_price\n"
            "FROM market_ticks\n"
            f"WHERE {RUN} AND {symbols()} AND $__timeFilter_ms(ts)\n"
            "GROUP BY time, symbol\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("symbol"), *num("last_price")),
        width=12,
        unit="currencyUSD",
        display_name=PER_SYMBOL,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Last traded price of each underlying per interval.",
    )
    return Dashboard(
        uid="strikeflow-greeks",
        title="strikeflow / Greeks and risk",
        description="Net delta, gamma, vega and theta per account and per symbol; the chain.",
        variables=(RUN_VARIABLE, ACCOUNT_VARIABLE, SYMBOL_VARIABLE),
        items=(
            Row("Per account"),
            *(greek_per_account(*greek) for greek in GREEKS),
            Row("Per symbol"),
            *(greek_per_symbol(*greek) for greek in GREEKS),
            Row("Chain"),
            spot,
            atm_iv,
            chain,
        ),
        time_from="now-6h",
        refresh="30s",
    )


# -- backtests -----------------------------------------------------------------------------------

# Only runs recorded in backtest_runs: "All" must not pull the live run into the comparison.
BACKTESTS = f"run_id IN (SELECT run_id FROM backtest_runs) AND {runs()}"


def backtest_curves() -> str:
    return (
        "SELECT $__timeInterval_ms(ts) AS time, concat(run_id, ' / ', account_id) AS curve,\n"
        "       argMax(equity, ts) AS equity_at\n"
        "FROM position_snapshots\n"
        f"WHERE {BACKTESTS} AND instrument = '' AND $__timeFilter_ms(ts)\n"
        "GROUP BY time, curve"
    )


def sweep_results() -> str:
    """Per run and account: results joined with that account's strategy parameters.

    `configs_json` is read both as an array of algorithm configs and as an object keyed by
    account, so the panel does not depend on which of the two shapes a backtest wrote.
    """
    return (
        "SELECT p.run_id AS run_id, p.account_id AS account_id,\n"
        "       c.strategy AS strategy, c.parameters AS parameters,\n"
        "       p.final_equity AS final_equity, p.total_return AS total_return,\n"
        "       p.worst_drawdown AS worst_drawdown, p.trade_count AS trade_count,\n"
        "       p.win_rate AS win_rate\n"
        "FROM (\n"
        f"{per_account_results(BACKTESTS, group='run_id, account_id')}) AS p\n"
        "LEFT JOIN (\n"
        "  SELECT run_id, JSONExtractString(config, 'account_id') AS account_id,\n"
        "         JSONExtractString(config, 'strategy', 'kind') AS strategy,\n"
        "         JSONExtractRaw(config, 'strategy') AS parameters\n"
        "  FROM backtest_runs FINAL\n"
        "  ARRAY JOIN arrayConcat(\n"
        "    JSONExtractArrayRaw(configs_json),\n"
        "    arrayMap(entry -> entry.2, JSONExtractKeysAndValuesRaw(configs_json))) AS config\n"
        f"  WHERE {runs()}) AS c\n"
        "  ON c.run_id = p.run_id AND c.account_id = p.account_id"
    )


def backtests() -> Dashboard:
    runs_table = Panel(
        title="Runs",
        type="table",
        sql=(
            "SELECT run_id, status, progress, source, from_ts, to_ts,\n"
            "       length(accounts) AS account_count, ticks, error, report_path,\n"
            "       created_ts AS created, updated_ts AS updated\n"
            "FROM backtest_runs FINAL\n"
            f"WHERE {runs()}\n"
            "ORDER BY created_ts DESC"
        ),
        columns=(
            *text("run_id", "status"),
            *num("progress"),
            *text("source"),
            time_col("from_ts"),
            time_col("to_ts"),
            *num("account_count", "ticks"),
            *text("error", "report_path"),
            time_col("created"),
            time_col("updated"),
        ),
        width=24,
        height=7,
        options=TABLE_OPTIONS,
        overrides=(
            {
                "matcher": {"id": "byName", "options": "progress"},
                "properties": [
                    {"id": "unit", "value": "percentunit"},
                    {"id": "custom.cellOptions", "value": {"type": "gauge", "mode": "basic"}},
                    {"id": "min", "value": 0},
                    {"id": "max", "value": 1},
                ],
            },
            color_by_value(
                "status",
                {
                    "completed": "green",
                    "running": "blue",
                    "pending": "text",
                    "failed": "red",
                    "cancelled": "orange",
                },
            ),
        ),
        description="Every backtest with its status, progress and replayed range.",
    )
    metrics = Panel(
        title="Metrics",
        type="table",
        sql=(
            "SELECT run_id, metric, value\n"
            "FROM backtest_runs FINAL\n"
            "ARRAY JOIN mapKeys(metrics) AS metric, mapValues(metrics) AS value\n"
            f"WHERE {runs()}\n"
            "ORDER BY run_id, metric"
        ),
        columns=(*text("run_id", "metric"), *num("value")),
        width=24,
        height=7,
        options=TABLE_OPTIONS,
        # One row per run, one column per metric, whatever metrics the backtests recorded.
        transformations=(
            {
                "id": "groupingToMatrix",
                "options": {"columnField": "metric", "rowField": "run_id", "valueField": "value"},
            },
        ),
        description="The metrics map of each run, one column per metric.",
    )
    equity_curves = Panel(
        title="Equity curves",
        type="timeseries",
        sql=f"{backtest_curves()}\nORDER BY time",
        columns=(time_col(), *text("curve"), *num("equity_at")),
        unit="currencyUSD",
        display_name="${__field.labels.curve}",
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Equity of every account (configuration) of the selected runs.",
    )
    normalised = Panel(
        title="Return since start",
        type="timeseries",
        sql=(
            "SELECT time, curve,\n"
            "       equity_at / first_value(equity_at) OVER (\n"
            "         PARTITION BY curve ORDER BY time\n"
            "         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - 1 AS return_since_start\n"
            f"FROM ({backtest_curves()})\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("curve"), *num("return_since_start")),
        unit="percentunit",
        display_name="${__field.labels.curve}",
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Equity over the first equity in the range: curves with different cash align.",
    )
    sweep = Panel(
        title="Parameter sweep",
        type="table",
        sql=f"{sweep_results()}\nORDER BY total_return DESC",
        columns=(
            *text("run_id", "account_id", "strategy", "parameters"),
            *num("final_equity", "total_return", "worst_drawdown", "trade_count", "win_rate"),
        ),
        width=16,
        height=9,
        options=TABLE_OPTIONS,
        overrides=tuple(
            {
                "matcher": {"id": "byName", "options": name},
                "properties": [{"id": "unit", "value": unit}],
            }
            for name, unit in (
                ("final_equity", "currencyUSD"),
                ("total_return", "percentunit"),
                ("worst_drawdown", "percentunit"),
                ("win_rate", "percentunit"),
            )
        ),
        description=(
            "Each configuration (account) of the selected runs with its strategy parameters, "
            "best total return first."
        ),
    )
    sweep_chart = Panel(
        title="Total return by configuration",
        type="barchart",
        sql=(
            "SELECT concat(run_id, ' / ', account_id) AS configuration, total_return\n"
            f"FROM ({sweep_results()})\n"
            "ORDER BY total_return DESC"
        ),
        columns=(*text("configuration"), *num("total_return")),
        width=8,
        height=9,
        unit="percentunit",
        options={"orientation": "horizontal", "xField": "configuration", "legend": LEGEND},
        description="The sweep's configurations ranked by total return.",
    )
    return Dashboard(
        uid="strikeflow-backtests",
        title="strikeflow / Backtests",
        description="Backtest runs, their metrics, equity curves and parameter sweeps.",
        variables=(BACKTEST_RUN_VARIABLE,),
        items=(
            runs_table,
            metrics,
            equity_curves,
            normalised,
            Row("Parameter sweep"),
            sweep,
            sweep_chart,
        ),
        # Backtests replay history: a wide default range keeps their curves in view.
        time_from="now-5y",
        refresh="1m",
    )


def dashboards() -> tuple[Dashboard, ...]:
    """Every dashboard, in the order they are listed."""
    return (control_center(), signal_feed(), analytics(), greeks_and_risk(), backtests())
