"""What the flow recorded: signals, decisions, fills, alerts (paged) and current positions.

Every listing filters by run ('live' by default), account and event-time range, and pages
with an opaque cursor over a stable (ts, id) order; see api/routers/common.py. Filter values
are validated against the contracts' patterns (a 422 otherwise) and bound as query parameters.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import ServicesDep
from api.routers.common import (
    MAX_PAGE,
    Cursor,
    Page,
    RecordQuery,
    order_clause,
    record_query,
    where_clause,
)
from schemas.common import LIVE_RUN, AccountId, RunId, Severity, Symbol
from schemas.trading import Alert, Decision, Fill, PositionSnapshot, Signal
from sinks.store import select_ordered

router = APIRouter(tags=["records"])

M = TypeVar("M", bound=BaseModel)
Query_ = Annotated[RecordQuery, Depends(record_query)]
SymbolFilter = Annotated[Symbol | None, Query(description="Only this symbol (underlying).")]


def _page(
    found: ServicesDep,
    model: type[M],
    id_column: str,
    query: RecordQuery,
    extra: dict[str, tuple[str, Any]],
) -> Page[M]:
    """One page of `model`'s rows; `extra` maps a parameter name to (condition, value)."""
    conditions, parameters = where_clause(query, id_column)
    for name, (condition, value) in extra.items():
        if value is not None:
            conditions.append(condition)
            parameters[name] = value
    rows = select_ordered(
        found.clickhouse,
        model,
        " AND ".join(conditions),
        parameters,
        order_clause(query, id_column),
        query.limit + 1,
    )
    more = len(rows) > query.limit
    items = rows[: query.limit]
    cursor = None
    if more:
        last = items[-1].model_dump(include={"ts", id_column})
        cursor = Cursor(last["ts"], last[id_column], query.order).encode()
    return Page(items=items, next_cursor=cursor)


@router.get("/signals", summary="Strategy signals")
async def signals(found: ServicesDep, query: Query_, symbol: SymbolFilter = None) -> Page[Signal]:
    extra = {"symbol": ("symbol = {symbol:String}", symbol)}
    return await run_in_threadpool(_page, found, Signal, "signal_id", query, extra)


@router.get("/decisions", summary="Orchestrator decisions, with the deciding rule and values")
async def decisions(
    found: ServicesDep,
    query: Query_,
    symbol: SymbolFilter = None,
    approved: Annotated[bool | None, Query(description="Only approved (or rejected).")] = None,
    rule: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,40}$", description="Only this deciding rule.")
    ] = None,
) -> Page[Decision]:
    extra = {
        "symbol": ("symbol = {symbol:String}", symbol),
        "approved": ("approved = {approved:Bool}", approved),
        "rule": ("rule = {rule:String}", rule),
    }
    return await run_in_threadpool(_page, found, Decision, "decision_id", query, extra)


@router.get("/fills", summary="Paper fills")
async def fills(found: ServicesDep, query: Query_, symbol: SymbolFilter = None) -> Page[Fill]:
    extra = {"symbol": ("underlying = {symbol:String}", symbol)}
    return await run_in_threadpool(_page, found, Fill, "fill_id", query, extra)


@router.get("/alerts", summary="Alerts: halts, breaches, rejected commands, bad input")
async def alerts(
    found: ServicesDep,
    query: Query_,
    severity: Annotated[Severity | None, Query(description="Only this severity.")] = None,
    kind: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,40}$", description="Only this kind.")
    ] = None,
) -> Page[Alert]:
    extra = {
        "severity": ("severity = {severity:String}", severity.value if severity else None),
        "kind": ("kind = {kind:String}", kind),
    }
    return await run_in_threadpool(_page, found, Alert, "alert_id", query, extra)


@router.get(
    "/positions",
    summary="Current positions: each account's latest position snapshot",
    description="The rows of each account's newest snapshot: one per open position, and one "
    "with `instrument = ''` that carries the account's cash and equity.",
)
async def positions(
    found: ServicesDep,
    run: Annotated[RunId, Query(description="'live', or a backtest's run id.")] = LIVE_RUN,
    account: Annotated[AccountId | None, Query(description="Only this account.")] = None,
    symbol: SymbolFilter = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> list[PositionSnapshot]:
    inner = "run_id = {run:String}"
    parameters: dict[str, Any] = {"run": run}
    if account is not None:
        inner += " AND account_id = {account:String}"
        parameters["account"] = account
    where = (
        f"{inner} AND (account_id, ts) IN (SELECT account_id, max(ts) FROM position_snapshots "
        f"FINAL WHERE {inner} GROUP BY account_id)"
    )
    if symbol is not None:
        where += " AND underlying = {symbol:String}"
        parameters["symbol"] = symbol
    return await run_in_threadpool(
        select_ordered,
        found.clickhouse,
        PositionSnapshot,
        where,
        parameters,
        "account_id, instrument",
        limit,
    )
