"""Backtests: launch a replay, follow its progress, read its result, cancel, compare.

A backtest replays a tick file or a time range of the ticks topic through the live graph with
its own run id (see flows/backtest.py). Files must lie inside the server's data directory
(`STRIKEFLOW_DATA_DIR`): the API never reads paths a caller picks elsewhere.
"""

from __future__ import annotations

import math
import pathlib
from typing import Annotated, Self

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import (
    AUTH_RESPONSES,
    BODY_RESPONSES,
    Authorized,
    Services,
    ServicesDep,
    error_response,
)
from api.routers.backtest_jobs import JobConflictError
from api.routers.common import unprocessable
from flows.backtest import CONFIGS, Source, account_result, default_run_id, sweep_configs
from schemas.common import AccountId, EventTime, Metrics, RunId, RunStatus, Symbol
from schemas.config import AlgorithmConfig, BacktestRun
from schemas.trading import Trade
from sinks.store import backtest_run, backtest_runs

router = APIRouter(prefix="/backtests", tags=["backtests"])

MAX_ACCOUNTS = 200
SweepValue = int | float | bool | Annotated[str, Field(max_length=64)]
NOT_FOUND = error_response(404, "No such backtest.")
CONFLICT = error_response(409, "Not possible in the run's state.")
RunPath = Annotated[RunId, Path(description="The backtest's run id.")]


class BacktestRequest(BaseModel):
    """What to replay and with which configs (one account per config, or per sweep point)."""

    model_config = ConfigDict(extra="forbid")
    configs: Annotated[list[AlgorithmConfig], Field(min_length=1, max_length=MAX_ACCOUNTS)]
    file: Annotated[str | None, Field(max_length=1000)] = Field(
        default=None,
        description="A CSV or Parquet tick file, relative to the server's data directory "
        "(or absolute inside it). Without it the ticks topic is replayed.",
    )
    symbol: Symbol | None = Field(default=None, description="Symbol of a one-symbol file.")
    from_ts: EventTime | None = Field(default=None, description="Replay from (inclusive).")
    to_ts: EventTime | None = Field(default=None, description="Replay to (exclusive).")
    sweep: Annotated[
        dict[
            Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")],
            Annotated[list[SweepValue], Field(min_length=1, max_length=50)],
        ],
        Field(max_length=5),
    ] = Field(
        default_factory=dict,
        description="Strategy parameter -> values: one account per combination "
        "(needs exactly one config).",
    )
    run_id: RunId | None = Field(default=None, description="Default: a hash of the inputs.")
    workers: Annotated[int, Field(ge=1, le=4)] = 1

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.from_ts is not None and self.to_ts is not None and self.to_ts <= self.from_ts:
            raise ValueError("to_ts must be after from_ts")
        if len({c.account_id for c in self.configs}) != len(self.configs):
            raise ValueError("account ids must be distinct")
        if self.sweep:
            if len(self.configs) != 1:
                raise ValueError("a sweep needs exactly one config")
            points = math.prod(len(values) for values in self.sweep.values())
            if points > MAX_ACCOUNTS:
                raise ValueError(f"the sweep has {points} combinations; at most {MAX_ACCOUNTS}")
        return self


class AccountOutcome(BaseModel):
    account_id: AccountId
    metrics: Metrics
    trades: list[Trade]


class BacktestResult(BaseModel):
    run_id: RunId
    status: RunStatus
    report_path: str = Field(description="The HTML report on the server.")
    accounts: list[AccountOutcome]


class RunColumn(BaseModel):
    run_id: RunId
    status: RunStatus
    source: str
    ticks: int
    accounts: dict[str, Metrics] = Field(description="Account -> its metrics in this run.")


class Comparison(BaseModel):
    metrics: list[str] = Field(description="Every metric name that appears, sorted.")
    runs: list[RunColumn]


def _tick_file(found: Services, name: str) -> pathlib.Path:
    root = found.settings.data_dir.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise unprocessable(("body", "file"), "the file must be inside the data directory", name)
    if not path.is_file():
        raise unprocessable(("body", "file"), "no such file in the data directory", name)
    return path


def _accounts(request: BacktestRequest) -> list[AlgorithmConfig]:
    if not request.sweep:
        return request.configs
    try:
        return sweep_configs(request.configs[0], request.sweep)
    except ValueError as error:
        raise unprocessable(("body", "sweep"), str(error)) from None


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Launch a backtest (runs in the background)",
    dependencies=Authorized,
    responses={
        **AUTH_RESPONSES,
        **BODY_RESPONSES,
        **error_response(409, "Already queued or running."),
    },
)
async def launch(found: ServicesDep, request: BacktestRequest) -> BacktestRun:
    configs = _accounts(request)
    source = Source(
        file=_tick_file(found, request.file) if request.file is not None else None,
        symbol=request.symbol,
        from_ts=request.from_ts,
        to_ts=request.to_ts,
    )
    run_id = request.run_id or default_run_id(configs, source, found.settings)
    try:
        return await run_in_threadpool(
            found.backtests.launch, configs, source, run_id, request.workers
        )
    except JobConflictError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None


@router.get("", summary="Backtests, newest first")
async def list_backtests(
    found: ServicesDep,
    status_: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[BacktestRun]:
    value = status_.value if status_ is not None else None
    return await run_in_threadpool(backtest_runs, found.clickhouse, value, limit)


def _compare(found: Services, run_ids: list[str]) -> Comparison | str:
    columns, names = [], set()
    for run_id in run_ids:
        run = backtest_run(found.clickhouse, run_id)
        if run is None:
            return run_id
        accounts: dict[str, dict[str, float]] = {account: {} for account in run.accounts}
        for key, value in run.metrics.items():
            account, _, metric = key.partition(".")
            accounts.setdefault(account, {})[metric] = value
            names.add(metric)
        columns.append(
            RunColumn(
                run_id=run.run_id,
                status=run.status,
                source=run.source,
                ticks=run.ticks,
                accounts=accounts,
            )
        )
    return Comparison(metrics=sorted(names), runs=columns)


@router.get("/compare", summary="Runs side by side: each account's metrics", responses=NOT_FOUND)
async def compare(
    found: ServicesDep,
    run_id: Annotated[
        list[RunId], Query(min_length=2, max_length=10, description="Two to ten run ids.")
    ],
) -> Comparison:
    result = await run_in_threadpool(_compare, found, run_id)
    if isinstance(result, str):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backtest {result}")
    return result


async def _run_or_404(found: Services, run_id: str) -> BacktestRun:
    run = await run_in_threadpool(backtest_run, found.clickhouse, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backtest {run_id}")
    return run


@router.get(
    "/{run_id}", summary="A backtest: status, progress, metrics, report", responses=NOT_FOUND
)
async def read_backtest(found: ServicesDep, run_id: RunPath) -> BacktestRun:
    return await _run_or_404(found, run_id)


def _outcomes(found: Services, run: BacktestRun) -> list[AccountOutcome]:
    configs = CONFIGS.validate_json(run.configs_json)
    results = [account_result(found.clickhouse, run.run_id, config) for config in configs]
    return [
        AccountOutcome(account_id=r.account_id, metrics=r.metrics, trades=r.trades) for r in results
    ]


@router.get(
    "/{run_id}/result",
    summary="A completed backtest's metrics and trades per account",
    responses={**NOT_FOUND, **CONFLICT},
)
async def result(found: ServicesDep, run_id: RunPath) -> BacktestResult:
    run = await _run_or_404(found, run_id)
    if run.status not in (RunStatus.COMPLETED, RunStatus.CANCELLED):
        raise HTTPException(status.HTTP_409_CONFLICT, f"backtest {run_id} is {run.status.value}")
    accounts = await run_in_threadpool(_outcomes, found, run)
    return BacktestResult(
        run_id=run.run_id, status=run.status, report_path=run.report_path, accounts=accounts
    )


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a queued or running backtest",
    dependencies=Authorized,
    responses={**AUTH_RESPONSES, **NOT_FOUND, **CONFLICT},
)
async def cancel(found: ServicesDep, run_id: RunPath) -> BacktestRun:
    await _run_or_404(found, run_id)
    try:
        return await run_in_threadpool(found.backtests.cancel, run_id)
    except JobConflictError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
