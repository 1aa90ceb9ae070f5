"""What every dashboard shares: SQL fragments, panel options, colours and variables."""

from __future__ import annotations

from dashboards.model import Panel, Variable, num

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
