"""The signal feed: signals, the orchestrator's decisions and their reasons, fills, orders."""

from __future__ import annotations

from dashboards.definitions.common import (
    ACCOUNT_VARIABLE,
    RUN,
    RUN_VARIABLE,
    STACKED_BARS,
    STAT_OPTIONS,
    SYMBOL_VARIABLE,
    TABLE_OPTIONS,
    TIMESERIES_OPTIONS,
    VERDICT_COLORS,
    accounts,
    color_by_value,
    stat,
    symbols,
)
from dashboards.definitions.orders import order_panels
from dashboards.model import Dashboard, Panel, Row, num, text, time_col


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
        description="Signals, the orchestrator's decisions with their reasons, fills and orders.",
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
            *order_panels(),
        ),
        time_from="now-1h",
        refresh="5s",
    )


# -- analytics -----------------------------------------------------------------------------------
