"""What the flow recorded: signals, decisions, fills, alerts (paged) and current positions.

Every listing filters by run ('live' by default), account and event-time range, and pages
with an opaque cursor over a stable (ts, id) order; see api/routers/common.py. Filter values
are validated against the contracts' patterns (a 422 otherwise); the store binds them as query
parameters (sinks/store/records.py). Identical reads of the moment share one query
(api/recent.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ServicesDep
from api.routers.common import MAX_PAGE, Page, page_of, record_query
from schemas.common import LIVE_RUN, AccountId, RunId, Severity, Symbol
from schemas.trading import Alert, Decision, Fill, PositionSnapshot, Signal
from sinks.store import records
from sinks.store.records import Listing

router = APIRouter(tags=["records"])

Query_ = Annotated[Listing, Depends(record_query)]
SymbolFilter = Annotated[Symbol | None, Query(description="Only this symbol (underlying).")]


@router.get("/signals", summary="Strategy signals")
async def signals(found: ServicesDep, query: Query_, symbol: SymbolFilter = None) -> Page[Signal]:
    page = await found.read_records(records.signals, query, symbol)
    return page_of(page, query.order)


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
    page = await found.read_records(records.decisions, query, symbol, approved, rule)
    return page_of(page, query.order)


@router.get("/fills", summary="Paper fills")
async def fills(found: ServicesDep, query: Query_, symbol: SymbolFilter = None) -> Page[Fill]:
    page = await found.read_records(records.fills, query, symbol)
    return page_of(page, query.order)


@router.get("/alerts", summary="Alerts: halts, breaches, rejected commands, bad input")
async def alerts(
    found: ServicesDep,
    query: Query_,
    severity: Annotated[Severity | None, Query(description="Only this severity.")] = None,
    kind: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,40}$", description="Only this kind.")
    ] = None,
) -> Page[Alert]:
    chosen = severity.value if severity else None
    page = await found.read_records(records.alerts, query, chosen, kind)
    return page_of(page, query.order)


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
    return await found.read_records(records.current_positions, run, account, symbol, limit)
