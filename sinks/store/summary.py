"""The counts a run's closing summary prints (the demo's): rows per table, rejections by rule."""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from sinks.store.filters import RunFilter, Where


@dataclass(frozen=True, slots=True)
class RunCounts:
    ticks: int
    signals: int
    approved: int
    rejected: int
    rejected_by_rule: dict[str, int]  # by rule name
    fills: int
    alerts: int


def _count(client: Client, table: str, where: Where) -> int:
    """Rows of `table` (a name from this module, never caller input) matching `where`."""
    result = client.query(
        f"SELECT count() FROM {table} FINAL WHERE {where.sql}", parameters=where.parameters
    )
    return int(result.result_rows[0][0])


def run_counts(client: Client, run_id: str) -> RunCounts:
    """How many ticks, signals, decisions (approved, rejected), fills and alerts the run wrote."""
    run = RunFilter(run_id).where()
    rules = client.query(
        f"SELECT rule, count() FROM auto_decisions FINAL WHERE {run.sql} AND NOT approved "
        "GROUP BY rule ORDER BY rule",
        parameters=run.parameters,
    ).result_rows
    return RunCounts(
        ticks=_count(client, "market_ticks", run),
        signals=_count(client, "auto_signals", run),
        approved=_count(client, "auto_decisions", run.and_("approved")),
        rejected=_count(client, "auto_decisions", run.and_("NOT approved")),
        rejected_by_rule={str(rule): int(count) for rule, count in rules},
        fills=_count(client, "paper_fills", run),
        alerts=_count(client, "alerts", run),
    )
