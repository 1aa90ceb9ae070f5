"""Walk-forward and Monte Carlo of a finished backtest: the pure research modules applied to
the accounts of its one replay pass (`flows.runs.results.BacktestResult`).

A walk-forward needs nothing but the pass that already ran: every sweep combination is an
account over the whole stream, so its equity and trades in any window are read from that one
pass, with its state warmed up by everything before the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from flows.runs.research_report import write_research_report
from flows.runs.results import AccountResult, BacktestResult, account_results, deflated
from flows.trading.research.monte_carlo import monte_carlo
from flows.trading.research.walk_forward import (
    AccountSeries,
    objective_value,
    slice_of,
    walk_forward,
    window_figures,
)
from flows.trading.research.windows import WalkForwardPlan, plan_of, walk_forward_windows
from schemas.config import AlgorithmConfig, BacktestRun, ResearchRequest, WalkForwardRequest


def swept_parameters(configs: Sequence[AlgorithmConfig]) -> list[dict[str, Any]]:
    """Each config's strategy parameters that differ between the configs (the swept ones)."""
    dumps = [c.strategy.model_dump(mode="json") for c in configs]
    varying = [k for k in dumps[0] if any(d.get(k) != dumps[0][k] for d in dumps[1:])]
    return [{k: d.get(k) for k in varying} for d in dumps]


def account_series(result: AccountResult, parameters: dict[str, Any]) -> AccountSeries:
    """One account's life as the walk-forward reads it, with its swept parameters."""
    return AccountSeries(
        account_id=result.account_id,
        parameters=parameters,
        ts=result.ts,
        equity=result.equity,
        invested=result.invested,
        trades=result.trades,
        starting_equity=result.starting_equity,
    )


def event_time_range(results: Sequence[AccountResult]) -> tuple[int, int]:
    """[first, last + 1 ms) over every account's equity samples."""
    firsts = [int(r.ts[0]) for r in results if r.ts.size]
    lasts = [int(r.ts[-1]) for r in results if r.ts.size]
    if not firsts:
        raise ValueError("the backtest recorded no equity: nothing to walk forward over")
    return min(firsts), max(lasts) + 1


def walk_forward_report(
    result: BacktestResult,
    configs: Sequence[AlgorithmConfig],
    plan: WalkForwardPlan,
    objective: str,
) -> dict[str, Any]:
    """`walk_forward` of `backtest --json`: the windows, the stitched out-of-sample run and its
    efficiency, and beside it the combination that looks best over the whole range (in
    sample, the number a sweep alone would show)."""
    ordered = sorted(result.accounts, key=lambda r: _order(r, configs))
    parameters = swept_parameters(configs)
    accounts = [account_series(r, parameters[_order(r, configs)]) for r in ordered]
    start, end = event_time_range(result.accounts)
    report = walk_forward(accounts, walk_forward_windows(start, end, plan), objective)
    # The same score as in the windows, over the whole range; ties to the first in sweep order.
    scores = [objective_value(slice_of(a, start, end), objective) for a in accounts]
    best = ordered[scores.index(max(scores))]
    report["plan"] = {"train_ms": plan.train_ms, "test_ms": plan.test_ms, "anchored": plan.anchored}
    report["in_sample_best"] = {
        "account_id": best.account_id,
        "metrics": window_figures(best.metrics),
        "equity": {"ts": best.ts.tolist(), "equity": [round(v, 2) for v in best.equity.tolist()]},
    }
    return report


def _order(result: AccountResult, configs: Sequence[AlgorithmConfig]) -> int:
    return next(i for i, c in enumerate(configs) if c.account_id == result.account_id)


def monte_carlo_report(
    result: BacktestResult, simulations: int, seed: int, walk: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`monte_carlo` of `backtest --json`: per account (and for the walk-forward's stitched
    out-of-sample trades, as `out_of_sample`), percentiles of the resampled trades."""
    report = {}
    for r in result.accounts:
        start = int(r.ts[0]) if r.ts.size else min((t.entry_ts for t in r.trades), default=0)
        report[r.account_id] = monte_carlo(
            [t.pnl for t in r.trades],
            [t.exit_ts for t in r.trades],
            r.starting_equity,
            start,
            simulations,
            seed,
        )
    if walk is not None:
        trades = walk["trades"]
        first_window = walk["windows"][0]
        report["out_of_sample"] = monte_carlo(
            [t["pnl"] for t in trades],
            [t["exit_ts"] for t in trades],
            result.accounts[0].starting_equity,
            first_window["test_from"],
            simulations,
            seed,
        )
    return report


def stored_backtest(client: Client, run: BacktestRun) -> BacktestResult:
    """A finished run's accounts read back from the store, as `run_backtest` returned them."""
    results = account_results(client, run.run_id, run.configs())
    return BacktestResult(run=run, accounts=deflated(results))


def requested_plan(request: WalkForwardRequest) -> WalkForwardPlan:
    """The plan of an API request's `walk_forward` (ValueError if its durations are unusable)."""
    return plan_of(request.train, request.test, request.anchored)


def research_reports(
    result: BacktestResult,
    configs: Sequence[AlgorithmConfig],
    request: ResearchRequest,
    report_dir: Path,
) -> dict[str, Any]:
    """`walk_forward` and `monte_carlo` (only those asked for), and `research_report`, the path
    of their page in `report_dir`. ValueError when the walk-forward cannot be made (data too
    short for its windows, too many windows)."""
    reports: dict[str, Any] = {}
    wanted = request.walk_forward
    if wanted is not None:
        plan = requested_plan(wanted)
        reports["walk_forward"] = walk_forward_report(result, configs, plan, wanted.objective)
    if request.monte_carlo:
        reports["monte_carlo"] = monte_carlo_report(
            result, request.monte_carlo, request.seed, reports.get("walk_forward")
        )
    if reports:
        page = write_research_report(report_dir, result.run.run_id, reports)
        reports["research_report"] = str(page)
    return reports
