"""Backtest runs in `backtest_runs`: one row per run, replaced as its status and progress move;
and what a finished run's accounts did, read back for their results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from clickhouse_connect.driver.client import Client

from schemas.config import BacktestRun
from schemas.trading import Fill
from sinks.store.filters import Where
from sinks.store.rows import select, select_ordered, select_own


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


@dataclass(frozen=True, slots=True)
class SnapshotColumns:
    """One account's position snapshots of a run as columns, sorted by (ts, instrument): the
    account rows (`instrument == ''`) carry its equity, the others each instrument's mark.
    Times are UTC ms; prices and equity in currency."""

    ts: npt.NDArray[np.int64]
    instrument: npt.NDArray[np.str_]
    mark_price: npt.NDArray[np.float64]
    equity: npt.NDArray[np.float64]

    @classmethod
    def empty(cls) -> SnapshotColumns:
        return cls(
            np.zeros(0, np.int64), np.zeros(0, np.str_), np.zeros(0), np.zeros(0, np.float64)
        )


@dataclass(frozen=True, slots=True)
class AccountHistory:
    """What an account's results are made of: its snapshots (as columns) and its fills."""

    snapshots: SnapshotColumns
    fills: list[Fill]


def _fill_order(fill: Fill) -> tuple[int, str]:
    return fill.ts, fill.fill_id


_ACCOUNTS = "run_id = {run:String} AND has({accounts:Array(String)}, account_id)"


def account_histories(
    client: Client, run_id: str, account_ids: Sequence[str]
) -> dict[str, AccountHistory]:
    """Every position snapshot and fill of the accounts of a run, by account, in two queries.

    Snapshots are read as columns (a run of many accounts has hundreds of thousands), not as
    one model per row; fills are read as models, which the round trips are booked from, built
    without a validation each (the flow wrote them)."""
    parameters = {"run": run_id, "accounts": list(account_ids)}
    result = client.query(
        "SELECT account_id, toUnixTimestamp64Milli(ts), instrument, mark_price, equity "
        f"FROM position_snapshots FINAL WHERE {_ACCOUNTS} ORDER BY account_id, ts, instrument",
        parameters=parameters,
    )
    columns = result.result_columns if result.row_count else [[]] * 5
    accounts = np.asarray(columns[0], dtype=np.str_)
    ts = np.asarray(columns[1], dtype=np.int64)
    instrument = np.asarray(columns[2], dtype=np.str_)
    mark_price = np.asarray(columns[3], dtype=np.float64)
    equity = np.asarray(columns[4], dtype=np.float64)
    snapshots: dict[str, SnapshotColumns] = {}
    bounds = [0, *(np.flatnonzero(accounts[1:] != accounts[:-1]) + 1).tolist(), len(accounts)]
    for start, stop in pairwise(bounds):
        if stop > start:
            part = slice(start, stop)
            snapshots[str(accounts[start])] = SnapshotColumns(
                ts[part], instrument[part], mark_price[part], equity[part]
            )
    fills: dict[str, list[Fill]] = {}
    # In the table's order, (ts, fill_id), whatever the parts a FINAL read visits first: sums
    # over the fills (commissions, turnover) then add up in the same order on every read.
    for fill in sorted(select_own(client, Fill, _ACCOUNTS, parameters), key=_fill_order):
        fills.setdefault(fill.account_id, []).append(fill)
    return {
        account: AccountHistory(
            snapshots.get(account, SnapshotColumns.empty()), fills.get(account, [])
        )
        for account in account_ids
    }
