"""Performance and behaviour: daily performance, run metrics, rejections, strategies."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import Services, ServicesDep, error_response
from api.routers.common import MAX_PAGE, check_range, unprocessable
from flows.runs.results import account_results
from schemas.common import LIVE_RUN, AccountId, EventTime, RunId, TradingDay
from schemas.config import AlgorithmConfig
from schemas.metrics import RunMetrics
from schemas.trading import DailyPerformance
from sinks.store.analytics import daily_performance, rejections_by_rule, strategy_activity
from sinks.store.configs import latest_configs
from sinks.store.filters import RunFilter
from sinks.store.fingerprint import run_fingerprint
from sinks.store.runs import backtest_run

router = APIRouter(prefix="/analytics", tags=["analytics"])

Run = Annotated[RunId, Query(description="'live', or a backtest's run id.")]
Account = Annotated[AccountId | None, Query(description="Only this account.")]


class AccountMetrics(BaseModel):
    account_id: AccountId
    metrics: RunMetrics = Field(description="See flows.trading.analytics.run_metrics.")
    trades: int = Field(description="Closed round trips.")


class RunMetricsResponse(BaseModel):
    run_id: RunId
    accounts: list[AccountMetrics]


class RuleCount(BaseModel):
    rule: str
    rejected: int


class StrategyBreakdown(BaseModel):
    """Activity per strategy kind. Fills and PnL count toward the strategy of the account's
    latest signal in the range (an account runs one strategy per config version)."""

    strategy: str
    accounts: int
    signals: int
    approved: int
    rejected: int
    fills: int
    realised_pnl: float
    commissions: float


class TimeFilter(BaseModel):
    start: int | None
    end: int | None


def time_filter(
    start: Annotated[
        EventTime | None, Query(alias="from", description="Inclusive start; needs `to`.")
    ] = None,
    end: Annotated[
        EventTime | None, Query(alias="to", description="Exclusive end; needs `from`.")
    ] = None,
) -> TimeFilter:
    check_range(start, end)
    return TimeFilter(start=start, end=end)


Times = Annotated[TimeFilter, Depends(time_filter)]


@router.get("/daily", summary="Daily performance (exchange trading days)")
async def daily(
    found: ServicesDep,
    run: Run = LIVE_RUN,
    account: Account = None,
    from_day: Annotated[TradingDay | None, Query(description="First day, inclusive.")] = None,
    to_day: Annotated[TradingDay | None, Query(description="Last day, inclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> list[DailyPerformance]:
    if from_day is not None and to_day is not None and to_day < from_day:
        raise unprocessable(("query", "to_day"), "`to_day` must not be before `from_day`", to_day)
    return await found.read_records(daily_performance, run, account, from_day, to_day, limit)


def _run_configs(found: Services, run_id: str) -> list[AlgorithmConfig] | None:
    if run_id == LIVE_RUN:
        return latest_configs(found.clickhouse, include_disabled=True)
    run = backtest_run(found.clickhouse, run_id)
    return None if run is None else run.configs()


def _metrics(found: Services, run_id: str, account: str | None) -> RunMetricsResponse | None:
    configs = _run_configs(found, run_id)
    if configs is None:
        return None
    chosen = [c for c in configs if account is None or c.account_id == account]
    results = account_results(found.clickhouse, run_id, chosen)
    return RunMetricsResponse(
        run_id=run_id,
        accounts=[
            AccountMetrics(account_id=r.account_id, metrics=r.metrics, trades=len(r.trades))
            for r in results
        ],
    )


@router.get(
    "/runs/{run_id}/metrics",
    summary="Whole-run metrics per account (return, Sharpe, drawdown, ...)",
    responses=error_response(404, "No such run."),
)
async def run_metrics(
    found: ServicesDep,
    run_id: Annotated[RunId, Path(description="'live', or a backtest's run id.")],
    account: Account = None,
) -> RunMetricsResponse:
    result = await run_in_threadpool(_metrics, found, run_id, account)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}")
    return result


class RunFingerprint(BaseModel):
    run_id: RunId
    day: TradingDay | None = Field(description="The trading day it covers; null: the whole run.")
    fingerprint: str = Field(description="SHA-256 (hex) of the run's output rows, canonical order.")


def _fingerprint(found: Services, run_id: str, day: date | None) -> RunFingerprint | None:
    if _run_configs(found, run_id) is None:
        return None
    zone = found.settings.exchange_timezone
    value = run_fingerprint(found.clickhouse, run_id, day, zone)
    return RunFingerprint(run_id=run_id, day=day, fingerprint=value)


@router.get(
    "/runs/{run_id}/fingerprint",
    summary="SHA-256 over the run's output rows: equal rows, equal fingerprint",
    responses=error_response(404, "No such run."),
)
async def fingerprint(
    found: ServicesDep,
    run_id: Annotated[RunId, Path(description="'live', or a backtest's run id.")],
    day: Annotated[
        TradingDay | None, Query(description="Only this trading day (exchange time zone).")
    ] = None,
) -> RunFingerprint:
    result = await run_in_threadpool(_fingerprint, found, run_id, day)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}")
    return result


@router.get("/rejections", summary="Rejected decisions by the rule that refused them")
async def rejections(
    found: ServicesDep, times: Times, run: Run = LIVE_RUN, account: Account = None
) -> list[RuleCount]:
    chosen = RunFilter(run, account, times.start, times.end)
    rows = await run_in_threadpool(rejections_by_rule, found.clickhouse, chosen)
    return [RuleCount(rule=rule, rejected=n) for rule, n in rows]


@router.get("/strategies", summary="Signals, decisions, fills and realised PnL per strategy")
async def strategies(
    found: ServicesDep, times: Times, run: Run = LIVE_RUN, account: Account = None
) -> list[StrategyBreakdown]:
    chosen = RunFilter(run, account, times.start, times.end)
    rows = await run_in_threadpool(strategy_activity, found.clickhouse, chosen)
    return [StrategyBreakdown.model_validate(row, from_attributes=True) for row in rows]
