"""A run's behaviour, aggregated: daily performance, rejections by rule, activity by strategy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clickhouse_connect.driver.client import Client

from schemas.trading import DailyPerformance
from sinks.store.filters import RunFilter
from sinks.store.rows import select_ordered


def daily_performance(
    client: Client,
    run_id: str,
    account_id: str | None,
    from_day: date | None,
    to_day: date | None,
    limit: int,
) -> list[DailyPerformance]:
    """Rows of `daily_performance` (exchange trading days), `from_day` to `to_day` inclusive,
    by day then account."""
    where = (
        RunFilter(run_id, account_id)
        .where()
        .and_("day >= {from_day:Date}", from_day=from_day)
        .and_("day <= {to_day:Date}", to_day=to_day)
    )
    return select_ordered(
        client, DailyPerformance, where.sql, where.parameters, "day, account_id", limit
    )


def rejections_by_rule(client: Client, rows: RunFilter) -> list[tuple[str, int]]:
    """(rule, rejected decisions), most rejections first, then by rule."""
    where = rows.where()
    result = client.query(
        f"SELECT rule, count() AS n FROM auto_decisions FINAL WHERE {where.sql} AND NOT approved "
        "GROUP BY rule ORDER BY n DESC, rule",
        parameters=where.parameters,
    )
    return [(str(rule), int(n)) for rule, n in result.result_rows]


@dataclass(slots=True)
class StrategyActivity:
    """What one strategy kind did in a run. Fills and PnL count toward the strategy of the
    account's latest signal in the range (an account runs one strategy per config version).
    Money in the quote currency, rounded to cents."""

    strategy: str
    accounts: int = 0
    signals: int = 0
    approved: int = 0
    rejected: int = 0
    fills: int = 0
    realised_pnl: float = 0.0
    commissions: float = 0.0


def strategy_activity(client: Client, rows: RunFilter) -> list[StrategyActivity]:
    """Signals, decisions, fills and realised PnL per strategy kind, by strategy."""
    where, decisions, fills = rows.where(), rows.where("d"), rows.where("f")
    parameters = where.parameters  # every alias binds the same values
    signal_rows = client.query(
        "SELECT strategy, uniqExact(account_id), count() FROM auto_signals FINAL "
        f"WHERE {where.sql} GROUP BY strategy",
        parameters=parameters,
    ).result_rows
    decision_rows = client.query(
        "SELECT s.strategy, countIf(d.approved), countIf(NOT d.approved) "
        "FROM auto_decisions AS d FINAL INNER JOIN "
        f"(SELECT signal_id, strategy FROM auto_signals FINAL WHERE {where.sql}) AS s "
        f"ON d.signal_id = s.signal_id WHERE {decisions.sql} GROUP BY s.strategy",
        parameters=parameters,
    ).result_rows
    fill_rows = client.query(
        "SELECT f.account_id, count(), sum(f.realised_pnl), sum(f.commission) "
        f"FROM paper_fills AS f FINAL WHERE {fills.sql} GROUP BY f.account_id",
        parameters=parameters,
    ).result_rows
    strategy_rows = client.query(
        "SELECT account_id, argMax(strategy, ts) FROM auto_signals FINAL "
        f"WHERE {where.sql} GROUP BY account_id",
        parameters=parameters,
    ).result_rows
    latest = {str(account_id): str(strategy) for account_id, strategy in strategy_rows}
    table: dict[str, StrategyActivity] = {}
    for strategy, accounts, count in signal_rows:
        entry = table.setdefault(strategy, StrategyActivity(strategy))
        entry.accounts, entry.signals = int(accounts), int(count)
    for strategy, approved, rejected in decision_rows:
        entry = table.setdefault(strategy, StrategyActivity(strategy))
        entry.approved, entry.rejected = int(approved), int(rejected)
    for account_id, count, pnl, fees in fill_rows:
        strategy = latest.get(account_id, "unknown")
        entry = table.setdefault(strategy, StrategyActivity(strategy))
        entry.fills += int(count)
        entry.realised_pnl = round(entry.realised_pnl + float(pnl), 2)
        entry.commissions = round(entry.commissions + float(fees), 2)
    return [table[name] for name in sorted(table)]
