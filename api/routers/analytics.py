"""Performance and behaviour: daily performance, run metrics, rejections, strategies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import Services, ServicesDep, error_response
from api.routers.common import MAX_PAGE, check_range, unprocessable
from flows.backtest import CONFIGS, account_result
from schemas.common import LIVE_RUN, AccountId, EventTime, Metrics, RunId, TradingDay
from schemas.config import AlgorithmConfig
from schemas.trading import DailyPerformance
from sinks.store import backtest_run, latest_configs, select_ordered

router = APIRouter(prefix="/analytics", tags=["analytics"])

Run = Annotated[RunId, Query(description="'live', or a backtest's run id.")]
Account = Annotated[AccountId | None, Query(description="Only this account.")]


class AccountMetrics(BaseModel):
    account_id: AccountId
    metrics: Metrics = Field(description="See flows.analytics.run_metrics for definitions.")
    trades: int = Field(description="Closed round trips.")


class RunMetrics(BaseModel):
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
    start: Annotated[EventTime | None, Query(alias="from", description="Inclusive start.")] = None,
    end: Annotated[EventTime | None, Query(alias="to", description="Exclusive end.")] = None,
) -> TimeFilter:
    check_range(start, end)
    return TimeFilter(start=start, end=end)


Times = Annotated[TimeFilter, Depends(time_filter)]


def _conditions(
    run: str, account: str | None, times: TimeFilter, prefix: str = ""
) -> tuple[str, dict[str, Any]]:
    parts = [f"{prefix}run_id = {{run:String}}"]
    parameters: dict[str, Any] = {"run": run}
    if account is not None:
        parts.append(f"{prefix}account_id = {{account:String}}")
        parameters["account"] = account
    if times.start is not None:
        parts.append(f"{prefix}ts >= fromUnixTimestamp64Milli({{start:Int64}}, 'UTC')")
        parameters["start"] = times.start
    if times.end is not None:
        parts.append(f"{prefix}ts < fromUnixTimestamp64Milli({{end:Int64}}, 'UTC')")
        parameters["end"] = times.end
    return " AND ".join(parts), parameters


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
    where = "run_id = {run:String}"
    parameters: dict[str, Any] = {"run": run}
    bounds: dict[str, tuple[str, date | str | None]] = {
        "account": ("account_id = {account:String}", account),
        "from_day": ("day >= {from_day:Date}", from_day),
        "to_day": ("day <= {to_day:Date}", to_day),
    }
    for name, (condition, value) in bounds.items():
        if value is not None:
            where += f" AND {condition}"
            parameters[name] = value
    return await run_in_threadpool(
        select_ordered,
        found.clickhouse,
        DailyPerformance,
        where,
        parameters,
        "day, account_id",
        limit,
    )


def _run_configs(found: Services, run_id: str) -> list[AlgorithmConfig] | None:
    if run_id == LIVE_RUN:
        return latest_configs(found.clickhouse, include_disabled=True)
    run = backtest_run(found.clickhouse, run_id)
    return None if run is None else CONFIGS.validate_json(run.configs_json)


def _metrics(found: Services, run_id: str, account: str | None) -> RunMetrics | None:
    configs = _run_configs(found, run_id)
    if configs is None:
        return None
    chosen = [c for c in configs if account is None or c.account_id == account]
    results = [account_result(found.clickhouse, run_id, config) for config in chosen]
    return RunMetrics(
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
) -> RunMetrics:
    result = await run_in_threadpool(_metrics, found, run_id, account)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}")
    return result


def _rejections(
    found: Services, run: str, account: str | None, times: TimeFilter
) -> list[tuple[str, int]]:
    where, parameters = _conditions(run, account, times)
    result = found.clickhouse.query(
        f"SELECT rule, count() AS n FROM auto_decisions FINAL WHERE {where} AND NOT approved "
        "GROUP BY rule ORDER BY n DESC, rule",
        parameters=parameters,
    )
    return [(str(rule), int(n)) for rule, n in result.result_rows]


@router.get("/rejections", summary="Rejected decisions by the rule that refused them")
async def rejections(
    found: ServicesDep, times: Times, run: Run = LIVE_RUN, account: Account = None
) -> list[RuleCount]:
    rows = await run_in_threadpool(_rejections, found, run, account, times)
    return [RuleCount(rule=rule, rejected=n) for rule, n in rows]


def _strategies(found: Services, run: str, account: str | None, times: TimeFilter) -> Any:
    client = found.clickhouse
    where, parameters = _conditions(run, account, times)
    signal_rows = client.query(
        "SELECT strategy, uniqExact(account_id), count() FROM auto_signals FINAL "
        f"WHERE {where} GROUP BY strategy",
        parameters=parameters,
    ).result_rows
    decided_where, _ = _conditions(run, account, times, prefix="d.")
    decision_rows = client.query(
        "SELECT s.strategy, countIf(d.approved), countIf(NOT d.approved) "
        "FROM auto_decisions AS d FINAL INNER JOIN "
        f"(SELECT signal_id, strategy FROM auto_signals FINAL WHERE {where}) AS s "
        f"ON d.signal_id = s.signal_id WHERE {decided_where} GROUP BY s.strategy",
        parameters=parameters,
    ).result_rows
    fill_rows = client.query(
        "SELECT f.account_id, count(), sum(f.realised_pnl), sum(f.commission) "
        "FROM paper_fills AS f FINAL "
        f"WHERE {_conditions(run, account, times, prefix='f.')[0]} GROUP BY f.account_id",
        parameters=parameters,
    ).result_rows
    strategy_rows = client.query(
        "SELECT account_id, argMax(strategy, ts) FROM auto_signals FINAL "
        f"WHERE {where} GROUP BY account_id",
        parameters=parameters,
    ).result_rows
    latest = {str(account_id): str(strategy) for account_id, strategy in strategy_rows}
    table: dict[str, dict[str, Any]] = {}

    def row(strategy: str) -> dict[str, Any]:
        return table.setdefault(
            strategy,
            {
                "strategy": strategy,
                "accounts": 0,
                "signals": 0,
                "approved": 0,
                "rejected": 0,
                "fills": 0,
                "realised_pnl": 0.0,
                "commissions": 0.0,
            },
        )

    for strategy, accounts, count in signal_rows:
        row(strategy).update(accounts=int(accounts), signals=int(count))
    for strategy, approved, rejected in decision_rows:
        row(strategy).update(approved=int(approved), rejected=int(rejected))
    for account_id, count, pnl, fees in fill_rows:
        entry = row(latest.get(account_id, "unknown"))
        entry["fills"] += int(count)
        entry["realised_pnl"] = round(entry["realised_pnl"] + float(pnl), 2)
        entry["commissions"] = round(entry["commissions"] + float(fees), 2)
    return [StrategyBreakdown(**table[name]) for name in sorted(table)]


@router.get("/strategies", summary="Signals, decisions, fills and realised PnL per strategy")
async def strategies(
    found: ServicesDep, times: Times, run: Run = LIVE_RUN, account: Account = None
) -> list[StrategyBreakdown]:
    result: list[StrategyBreakdown] = await run_in_threadpool(
        _strategies, found, run, account, times
    )
    return result
