"""Backtest runs in `backtest_runs`: one row per run, replaced as its status and progress move."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.config import BacktestRun
from schemas.trading import Fill, PositionSnapshot
from sinks.store.filters import RunFilter, Where
from sinks.store.rows import select, select_ordered


def backtest_run(client: Client, run_id: str) -> BacktestRun | None:
    """The run's latest record, or None for a run never recorded."""
    rows = select(client, BacktestRun, "run_id = {run:String}", {"run": run_id})
    return rows[0] if rows else None


def backtest_runs(client: Client, status: str | None, limit: int) -> list[BacktestRun]:
    """Backtest runs, newest first, optionally of one status."""
    where = Where().and_("status = {status:String}", status=status)
    return select_ordered(
        client, BacktestRun, where.sql, where.parameters, "created_ts DESC, run_id", limit
    )


def account_history(
    client: Client, run_id: str, account_id: str
) -> tuple[list[PositionSnapshot], list[Fill]]:
    """Every position snapshot and fill of one account of a run: what its results are made of."""
    where = RunFilter(run_id, account_id).where()
    return (
        select(client, PositionSnapshot, where.sql, where.parameters),
        select(client, Fill, where.sql, where.parameters),
    )
