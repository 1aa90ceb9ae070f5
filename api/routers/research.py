"""Research on a finished backtest: walk-forward over its sweep and Monte Carlo of its trades.

Both read the run's one replay pass back from the store (every sweep combination is an account
over the whole stream; see flows/runs/research.py), so any completed sweep can be walked forward
with several plans without replaying anything.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import Services, ServicesDep, error_response
from api.routers.common import unprocessable
from flows.runs.research import monte_carlo_report, stored_backtest, walk_forward_report
from flows.trading.research.walk_forward import OBJECTIVES
from flows.trading.research.windows import WalkForwardPlan, plan_of
from schemas.common import RunId, RunStatus
from schemas.config import WalkForwardRequest
from schemas.trading import Trade
from sinks.store.runs import backtest_run

router = APIRouter(prefix="/backtests", tags=["backtests"])

RunPath = Annotated[RunId, Path(description="The backtest's run id.")]
Duration = Annotated[str, Query(max_length=16, pattern=r"^\d+(\.\d+)?[smhdw]$")]
ERRORS = {
    **error_response(404, "No such backtest."),
    **error_response(409, "The backtest has not finished."),
}


class EquityCurve(BaseModel):
    ts: list[int] = Field(description="Event times, UTC ms.")
    equity: list[float] = Field(description="Equity at each time, currency.")


class WalkForwardWindow(BaseModel):
    train_from: int
    train_to: int
    test_from: int
    test_to: int
    chosen: str = Field(description="The account (combination) chosen on the training window.")
    parameters: dict[str, Any] = Field(description="Its swept strategy parameters.")
    score: float = Field(description="Its objective on the training window (the best).")
    in_sample: dict[str, float] = Field(description="Its metrics on the training window.")
    out_of_sample: dict[str, float] = Field(description="Its metrics on the test window.")


class InSampleBest(BaseModel):
    account_id: str
    metrics: dict[str, float]
    equity: EquityCurve


class WalkForwardReport(BaseModel):
    """Windows, the stitched out-of-sample run and its efficiency (annualised OOS return /
    mean annualised IS return; null when the latter is not positive)."""

    objective: str
    combinations: int
    plan: dict[str, int | bool]
    windows: list[WalkForwardWindow]
    out_of_sample: dict[str, float]
    annualised_out_of_sample_return: float
    annualised_in_sample_return: float
    efficiency: float | None
    equity: EquityCurve
    trades: list[Trade]
    in_sample_best: InSampleBest


async def _finished(found: Services, run_id: str) -> Any:
    run = await run_in_threadpool(backtest_run, found.clickhouse, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backtest {run_id}")
    if run.status not in (RunStatus.COMPLETED, RunStatus.CANCELLED):
        raise HTTPException(status.HTTP_409_CONFLICT, f"backtest {run_id} is {run.status.value}")
    return await run_in_threadpool(stored_backtest, found.clickhouse, run)


def _plan(train: str, test: str, anchored: bool) -> WalkForwardPlan:
    try:
        return plan_of(train, test, anchored)
    except ValueError as error:
        raise unprocessable(("query", "train"), str(error)) from None


@router.get(
    "/{run_id}/walk-forward",
    summary="Walk-forward over a finished sweep: choose per training window, test out of sample",
    responses=ERRORS,
)
async def walk_forward(
    found: ServicesDep,
    run_id: RunPath,
    train: Duration | None = None,
    test: Duration | None = None,
    anchored: bool | None = None,
    objective: Annotated[str | None, Query(pattern="^(" + "|".join(OBJECTIVES) + ")$")] = None,
) -> WalkForwardReport:
    """Without `train` and `test`, the plan the backtest was launched with (POST /backtests
    `walk_forward`); any parameter given overrides that plan's."""
    if (train is None) != (test is None):
        raise unprocessable(("query", "train" if train is None else "test"), "give train and test")
    result = await _finished(found, run_id)
    launched = result.run.research.walk_forward
    if train is None and launched is None:
        raise unprocessable(
            ("query", "train"),
            f"backtest {run_id} was launched without walk_forward: give train and test",
        )
    wanted = launched or WalkForwardRequest(train=train or "", test=test or "")
    plan = _plan(
        train or wanted.train,
        test or wanted.test,
        wanted.anchored if anchored is None else anchored,
    )
    chosen = objective or wanted.objective
    try:
        report = await run_in_threadpool(
            walk_forward_report, result, result.run.configs(), plan, chosen
        )
    except ValueError as error:
        raise unprocessable(("query", "train"), str(error)) from None
    return WalkForwardReport.model_validate(report)


@router.get(
    "/{run_id}/monte-carlo",
    summary="Monte Carlo of a finished backtest's trades: percentiles 5/50/95 per account",
    responses=ERRORS,
)
async def monte_carlo(
    found: ServicesDep,
    run_id: RunPath,
    simulations: Annotated[int, Query(ge=1, le=20_000)] = 1000,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
) -> dict[str, dict[str, Any]]:
    result = await _finished(found, run_id)
    return await run_in_threadpool(monte_carlo_report, result, simulations, seed)
