"""The control center: every account's state, equity, exposure and latest alerts."""

from __future__ import annotations

from dashboards.definitions.common import (
    ACCOUNT_VARIABLE,
    LINES,
    PER_ACCOUNT,
    RUN,
    RUN_VARIABLE,
    SEVERITY_COLORS,
    STAT_OPTIONS,
    STATUS_COLORS,
    TABLE_OPTIONS,
    TIMESERIES_OPTIONS,
    accounts,
    color_by_value,
    latest_account_value,
    latest_snapshot_per_account,
    stat,
)
from dashboards.model import Dashboard, Panel, Row, num, text, time_col


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
