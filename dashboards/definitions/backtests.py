"""Backtests: runs, sweep results and their equity curves."""

from __future__ import annotations

from dashboards.definitions.common import (
    BACKTEST_RUN_VARIABLE,
    LEGEND,
    LINES,
    TABLE_OPTIONS,
    TIMESERIES_OPTIONS,
    color_by_value,
    per_account_results,
    runs,
)
from dashboards.model import Dashboard, Panel, Row, num, text, time_col

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
