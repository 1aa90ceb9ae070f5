"""Backtests: launch a replay, follow its progress, read its result, cancel, compare.

A backtest replays a tick file or a time range of the ticks topic through the live graph with
its own run id (see flows/runs/backtest.py). Files must lie inside the server's data directory
(`STRIKEFLOW_DATA_DIR`): the API never reads paths a caller picks elsewhere, and never shows
the server's own paths: a run's source and report are shown relative to the data directory
(see api/jobs.py `shown`).
"""

from __future__ import annotations

import math
import pathlib
from typing import Annotated, Self

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import (
    BODY_RESPONSES,
    Services,
    ServicesDep,
    error_response,
)
from api.jobs import JobConflictError, shown
from api.routers.common import unprocessable
from flows.runs.backtest import Source, default_run_id
from flows.runs.research import requested_plan
from flows.runs.results import account_results, deflated
from flows.runs.sweep import sweep_configs
from flows.sources.tick_file import has_open_column
from schemas.common import AccountId, BarFill, EventTime, RunId, RunStatus, Symbol
from schemas.config import AlgorithmConfig, BacktestRun, ResearchRequest, WalkForwardRequest
from schemas.metrics import RunMetrics
from schemas.trading import Trade
from sinks.store.runs import backtest_run, backtest_runs

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
    file: Annotated[str | None, Field(max_length=1000, pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        default=None,
        description="A CSV or Parquet tick file, relative to the server's data directory "
        "(or absolute inside it); no control characters. Without it the ticks topic is "
        "replayed.",
    )
    symbol: Symbol | None = Field(default=None, description="Symbol of a one-symbol file.")
    fill: BarFill = Field(
        default=BarFill.CLOSE,
        description="Where a bar file's orders fill: at the bar's close, or at the next bar's "
        "open (`next-open`: the file needs an Open column; the last bar's orders never fill).",
    )
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
    walk_forward: WalkForwardRequest | None = Field(
        default=None,
        description="When the replay completes, walk forward over the accounts (a sweep, or "
        "several configs): GET /backtests/{run_id}/walk-forward then answers with this plan.",
    )
    monte_carlo: Annotated[int, Field(ge=0, le=20_000)] = Field(
        default=0, description="When the replay completes, resample the trades N times (0: off)."
    )
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.from_ts is not None and self.to_ts is not None and self.to_ts <= self.from_ts:
            raise ValueError("to_ts must be after from_ts")
        if self.file is None and self.fill != BarFill.CLOSE:
            raise ValueError("fill next-open is for a bar file: give file")
        if len({c.account_id for c in self.configs}) != len(self.configs):
            raise ValueError("account ids must be distinct")
        if self.sweep:
            if len(self.configs) != 1:
                raise ValueError("a sweep needs exactly one config")
            points = math.prod(len(values) for values in self.sweep.values())
            if points > MAX_ACCOUNTS:
                raise ValueError(f"the sweep has {points} combinations; at most {MAX_ACCOUNTS}")
        if self.walk_forward is not None and len(self.configs) < 2 and not self.sweep:
            raise ValueError("a walk-forward chooses between accounts: give a sweep or configs")
        return self

    def research(self) -> ResearchRequest:
        return ResearchRequest(
            walk_forward=self.walk_forward, monte_carlo=self.monte_carlo, seed=self.seed
        )


class TradeExcursion(BaseModel):
    """How far a round trip's price went against (mae) and for (mfe) it while open: currency,
    and fractions of the entry price (see flows/trading/research/excursions.py)."""

    mae: float
    mfe: float
    mae_pct: float
    mfe_pct: float


class AccountOutcome(BaseModel):
    account_id: AccountId
    metrics: RunMetrics
    trades: list[Trade]
    excursions: list[TradeExcursion] = Field(description="One per trade, in the same order.")


class BacktestResult(BaseModel):
    run_id: RunId
    status: RunStatus
    report_path: str = Field(
        description="The HTML report, relative to the server's data directory ('' if none)."
    )
    accounts: list[AccountOutcome]


class RunColumn(BaseModel):
    run_id: RunId
    status: RunStatus
    source: str
    ticks: int
    accounts: dict[str, RunMetrics] = Field(description="Account -> its metrics in this run.")


class Comparison(BaseModel):
    metrics: list[str] = Field(description="The metrics' names, in their definition order.")
    runs: list[RunColumn]


def _tick_file(found: Services, name: str) -> pathlib.Path:
    root = found.settings.data_dir.resolve()
    try:
        path = (root / name).resolve()
        inside = path.is_relative_to(root)
        exists = inside and path.is_file()
    except (OSError, ValueError) as error:  # a name the file system refuses (too long, ...)
        reason = getattr(error, "strerror", None) or "not a usable file name"
        raise unprocessable(("body", "file"), f"not a usable file name: {reason}") from None
    if not inside:
        raise unprocessable(("body", "file"), "the file must be inside the data directory", name)
    if not exists:
        raise unprocessable(("body", "file"), "no such file in the data directory", name)
    return path


def _bars_with_opens(path: pathlib.Path, name: str | None) -> None:
    """A next-open run needs the bars' opens: refused now rather than failed once queued."""
    if not has_open_column(path):
        raise unprocessable(("body", "fill"), "next-open needs a file with an Open column", name)


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
    responses={
        **BODY_RESPONSES,
        **error_response(409, "Already queued or running."),
    },
)
async def launch(found: ServicesDep, request: BacktestRequest) -> BacktestRun:
    configs = _accounts(request)
    if request.walk_forward is not None:
        try:
            requested_plan(request.walk_forward)
        except ValueError as error:
            raise unprocessable(("body", "walk_forward"), str(error)) from None
    file = _tick_file(found, request.file) if request.file is not None else None
    if file is not None and request.fill == BarFill.NEXT_OPEN:
        await run_in_threadpool(_bars_with_opens, file, request.file)
    source = Source(
        file=file,
        symbol=request.symbol,
        fill=request.fill,
        from_ts=request.from_ts,
        to_ts=request.to_ts,
    )
    run_id = request.run_id or default_run_id(configs, source, found.settings)
    try:
        run = await run_in_threadpool(
            found.backtests.launch, configs, source, run_id, request.workers, request.research()
        )
    except JobConflictError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return shown(run, found.settings.data_dir)


@router.get("", summary="Backtests, newest first")
async def list_backtests(
    found: ServicesDep,
    status_: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[BacktestRun]:
    value = status_.value if status_ is not None else None
    runs = await run_in_threadpool(backtest_runs, found.clickhouse, value, limit)
    return [shown(run, found.settings.data_dir) for run in runs]


def _compare(found: Services, run_ids: list[str]) -> Comparison | str:
    columns = []
    for run_id in run_ids:
        run = backtest_run(found.clickhouse, run_id)
        if run is None:
            return run_id
        accounts = {
            account: metrics
            for account in run.accounts
            if (metrics := RunMetrics.from_flat(run.metrics, account)) is not None
        }
        columns.append(
            RunColumn(
                run_id=run.run_id,
                status=run.status,
                source=shown(run, found.settings.data_dir).source,
                ticks=run.ticks,
                accounts=accounts,
            )
        )
    return Comparison(metrics=list(RunMetrics.model_fields), runs=columns)


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
    return shown(run, found.settings.data_dir)


@router.get(
    "/{run_id}", summary="A backtest: status, progress, metrics, report", responses=NOT_FOUND
)
async def read_backtest(found: ServicesDep, run_id: RunPath) -> BacktestRun:
    return await _run_or_404(found, run_id)


def _outcomes(found: Services, run: BacktestRun) -> list[AccountOutcome]:
    configs = run.configs()
    results = deflated(account_results(found.clickhouse, run.run_id, configs))
    return [
        AccountOutcome(
            account_id=r.account_id,
            metrics=r.metrics,
            trades=r.trades,
            excursions=[TradeExcursion(**e.as_dict()) for e in r.excursions],
        )
        for r in results
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
    responses={**NOT_FOUND, **CONFLICT},
)
async def cancel(found: ServicesDep, run_id: RunPath) -> BacktestRun:
    await _run_or_404(found, run_id)
    try:
        cancelled = await run_in_threadpool(found.backtests.cancel, run_id)
    except JobConflictError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return shown(cancelled, found.settings.data_dir)
