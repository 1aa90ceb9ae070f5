"""Series for charts: equity and drawdown per account, rejections by rule over time.

Both read what the flow recorded (`position_snapshots`, `auto_decisions`) through
sinks/store/series.py and answer a bounded number of points, so a chart of a long run stays
small. Filters as for the record listings: run ('live' by default), account, event-time range.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.routers.analytics import Account, Run, Times
from schemas.common import LIVE_RUN, AccountId
from sinks.store.filters import RunFilter
from sinks.store.series import equity_series, rejections_over_time

router = APIRouter(prefix="/series", tags=["analytics"])


class EquityPoint(BaseModel):
    ts: int = Field(description="Event time, UTC epoch ms.")
    equity: float = Field(description="Cash plus positions at mark, quote currency.")
    drawdown: float = Field(description="1 - equity / peak equity so far (0 at a peak).")


class EquitySeries(BaseModel):
    account_id: AccountId
    points: list[EquityPoint]


class RejectionBucket(BaseModel):
    ts: int = Field(description="Start of the bucket, UTC epoch ms.")
    rule: str
    rejected: int


@router.get("/equity", summary="Equity and drawdown over time, per account")
async def equity(
    found: ServicesDep,
    times: Times,
    run: Run = LIVE_RUN,
    account: Account = None,
    points: Annotated[
        int, Query(ge=2, le=10_000, description="At most this many points per account.")
    ] = 2000,
) -> list[EquitySeries]:
    rows = await found.read_records(
        equity_series, RunFilter(run, account, times.start, times.end), points
    )
    series: dict[str, list[EquityPoint]] = {}
    for row in rows:
        series.setdefault(row.account_id, []).append(
            EquityPoint(ts=row.ts, equity=row.equity, drawdown=row.drawdown)
        )
    return [EquitySeries(account_id=name, points=found) for name, found in series.items()]


@router.get("/rejections", summary="Rejected decisions by rule, per time bucket")
async def rejections(
    found: ServicesDep,
    times: Times,
    run: Run = LIVE_RUN,
    account: Account = None,
    bucket_seconds: Annotated[
        int, Query(ge=1, le=86_400 * 31, description="Width of a bucket in seconds.")
    ] = 60,
) -> list[RejectionBucket]:
    rows = await found.read_records(
        rejections_over_time, RunFilter(run, account, times.start, times.end), bucket_seconds
    )
    return [RejectionBucket(ts=r.ts, rule=r.rule, rejected=r.rejected) for r in rows]
