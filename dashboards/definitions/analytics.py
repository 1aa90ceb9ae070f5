"""Analytics: daily performance, cumulative returns, rejections and per-strategy results."""

from __future__ import annotations

from dashboards.definitions.common import (
    ACCOUNT_VARIABLE,
    BARS,
    LEGEND,
    LINES,
    PER_ACCOUNT,
    RUN,
    RUN_VARIABLE,
    TABLE_OPTIONS,
    TIMESERIES_OPTIONS,
    accounts,
    per_account_results,
    stat,
)
from dashboards.model import Column, Dashboard, Panel, Row, num, text, time_col

DAILY = f"{RUN} AND {accounts()} AND $__timeFilter_ms(ts)"


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
