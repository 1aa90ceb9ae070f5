"""`strikeflow backtest --walk-forward ... --monte-carlo N`: the options, and how their results
read on the terminal. The figures come from `flows.runs.research`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.trading.research.windows import WalkForwardPlan, parse_plan

if TYPE_CHECKING:
    from flows.runs.results import BacktestResult
    from schemas.config import AlgorithmConfig


class Objective(StrEnum):
    SHARPE = "sharpe"
    SORTINO = "sortino"
    CALMAR = "calmar"
    TOTAL_RETURN = "total_return"
    PSR = "psr"


WalkForwardOption = Annotated[
    str | None,
    typer.Option(
        "--walk-forward",
        help="train=DURATION,test=DURATION (e.g. train=90d,test=30d; s, m, h, d, w): choose "
        "the best sweep combination on each training window, trade it on the next test window.",
    ),
]
AnchoredOption = Annotated[
    bool, typer.Option(help="Training windows all start at the data's start (default rolling).")
]
ObjectiveOption = Annotated[
    Objective, typer.Option(help="What the walk-forward maximises on a training window.")
]
MonteCarloOption = Annotated[
    int,
    typer.Option(
        "--monte-carlo", min=0, max=100_000, help="Resample the closed trades N times (0: off)."
    ),
]
SeedOption = Annotated[int, typer.Option(help="Seed of the Monte Carlo.")]


def walk_forward_plan(text: str | None, anchored: bool) -> WalkForwardPlan | None:
    """The parsed `--walk-forward`, checked before any replay starts."""
    if text is None:
        if anchored:
            raise typer.BadParameter("--anchored needs --walk-forward")
        return None
    try:
        return parse_plan(text, anchored)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def research_reports(
    result: BacktestResult,
    configs: list[AlgorithmConfig],
    plan: WalkForwardPlan | None,
    objective: Objective,
    simulations: int,
    seed: int,
) -> dict[str, Any]:
    """`walk_forward` and `monte_carlo` for `--json`: only those asked for."""
    from flows.runs.research import monte_carlo_report, walk_forward_report

    reports: dict[str, Any] = {}
    if plan is not None:
        try:
            reports["walk_forward"] = walk_forward_report(result, configs, plan, objective.value)
        except ValueError as error:
            raise typer.BadParameter(f"--walk-forward: {error}") from None
    if simulations:
        reports["monte_carlo"] = monte_carlo_report(
            result, simulations, seed, reports.get("walk_forward")
        )
    return reports


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def print_walk_forward(console: Console, report: dict[str, Any]) -> None:
    """The windows with the chosen parameters over time, then out of sample vs in sample."""
    table = Table(title=f"walk-forward: {report['objective']}, {report['combinations']} combos")
    for column in ("test from", "test to", "chosen", "IS return", "IS sharpe", "OOS return"):
        table.add_column(column, justify="left" if column == "chosen" else "right")
    for row in report["windows"]:
        table.add_row(
            _day(row["test_from"]),
            _day(row["test_to"]),
            ", ".join(f"{k}={v}" for k, v in row["parameters"].items()) or row["chosen"],
            f"{row['in_sample']['total_return']:.2%}",
            f"{row['in_sample']['sharpe']:.2f}",
            f"{row['out_of_sample']['total_return']:.2%}",
        )
    console.print(table)
    summary = Table(title="out of sample (stitched) vs the in-sample best")
    for column in ("run", "total_return", "sharpe", "max_drawdown", "psr", "deflated_sharpe"):
        summary.add_column(column, justify="left" if column == "run" else "right")
    best = report["in_sample_best"]
    for name, metrics in (
        ("out of sample", report["out_of_sample"]),
        (f"in sample: {best['account_id']}", best["metrics"]),
    ):
        summary.add_row(
            name,
            f"{metrics['total_return']:.2%}",
            f"{metrics['sharpe']:.2f}",
            f"{metrics['max_drawdown']:.2%}",
            f"{metrics['psr']:.3f}",
            f"{metrics['deflated_sharpe']:.3f}",
        )
    console.print(summary)
    efficiency = report["efficiency"]
    shown = "n/a (in-sample return not positive)" if efficiency is None else f"{efficiency:.2f}"
    console.print(f"walk-forward efficiency: {shown}")


def print_monte_carlo(console: Console, report: dict[str, Any]) -> None:
    """Percentiles 5/50/95 per account and resampling."""
    first = next(iter(report.values()))
    table = Table(
        title=f"Monte Carlo of trades: {first['simulations']:,} runs, seed {first['seed']}"
    )
    for column in ("account", "method", "final equity", "max drawdown", "longest dd (days)"):
        table.add_column(column, justify="left" if column in ("account", "method") else "right")
    for account, found in report.items():
        for method in ("bootstrap", "reshuffle"):
            figures = found[method]
            table.add_row(
                account,
                method,
                " / ".join(f"{v:,.0f}" for v in figures["final_equity"].values()),
                " / ".join(f"{v:.1%}" for v in figures["max_drawdown"].values()),
                " / ".join(f"{v:.1f}" for v in figures["longest_drawdown_days"].values()),
            )
    console.print(table)
    console.print("(each cell: 5th / 50th / 95th percentile)")


def print_research(console: Console, reports: dict[str, Any]) -> None:
    if "walk_forward" in reports:
        print_walk_forward(console, reports["walk_forward"])
    if "monte_carlo" in reports:
        print_monte_carlo(console, reports["monte_carlo"])
