"""`strikeflow backtest --walk-forward ... --monte-carlo N`: the options, and how their results
read on the terminal. The figures come from `flows.runs.research`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from flows.trading.research.windows import plan_parts
from schemas.config import ResearchRequest, WalkForwardRequest

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
SeedOption = Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed of the Monte Carlo.")]


def walk_forward_request(
    text: str | None, anchored: bool, objective: Objective
) -> WalkForwardRequest | None:
    """The parsed `--walk-forward`, checked before any replay starts."""
    if text is None:
        if anchored:
            raise typer.BadParameter("--anchored needs --walk-forward")
        return None
    try:
        train, test = plan_parts(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return WalkForwardRequest(train=train, test=test, anchored=anchored, objective=objective.value)


def research_reports(
    result: BacktestResult,
    configs: list[AlgorithmConfig],
    request: ResearchRequest,
    report_dir: Path,
) -> dict[str, Any]:
    """`walk_forward` and `monte_carlo` for `--json` (only those asked for), and
    `research_report`, the path of their page in `report_dir`."""
    from flows.runs.research import research_reports as reports_of

    try:
        return reports_of(result, configs, request, report_dir)
    except ValueError as error:
        raise typer.BadParameter(f"--walk-forward: {error}") from None


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def print_walk_forward(console: Console, report: dict[str, Any]) -> None:
    """The windows with the chosen parameters over time, then out of sample vs in sample."""
    table = Table(title=f"walk-forward: {report['objective']}, {report['combinations']} combos")
    for column in ("test from", "test to", "chosen", "IS score", "IS return", "OOS return"):
        table.add_column(column, justify="left" if column == "chosen" else "right")
    for row in report["windows"]:
        table.add_row(
            _day(row["test_from"]),
            _day(row["test_to"]),
            ", ".join(f"{k}={v}" for k, v in row["parameters"].items()) or row["chosen"],
            f"{row['score']:.2f}",
            f"{row['in_sample']['total_return']:.2%}",
            f"{row['out_of_sample']['total_return']:.2%}",
        )
    console.print(table)
    summary = Table(title="out of sample (stitched) vs the in-sample best")
    summary.add_column("run", no_wrap=True, max_width=30, overflow="ellipsis")
    for column in ("total_return", "max_drawdown", "psr", "deflated_sharpe", "sqn"):
        summary.add_column(column, justify="right")
    best = report["in_sample_best"]
    for name, metrics in (
        ("out of sample", report["out_of_sample"]),
        (f"in sample: {best['account_id']}", best["metrics"]),
    ):
        summary.add_row(
            name,
            f"{metrics['total_return']:.2%}",
            f"{metrics['max_drawdown']:.2%}",
            f"{metrics['psr']:.3f}",
            f"{metrics['deflated_sharpe']:.3f}",
            f"{metrics['sqn']:.2f}",
        )
    console.print(summary)
    efficiency = report["efficiency"]
    shown = "n/a (in-sample return not positive)" if efficiency is None else f"{efficiency:.2f}"
    console.print(f"walk-forward efficiency: {shown}")


def print_monte_carlo(console: Console, report: dict[str, Any]) -> None:
    """Percentiles per account and resampling: final equity 5/50/95, drawdowns 50/95."""
    first = next(iter(report.values()))
    table = Table(
        title=f"Monte Carlo of trades: {first['simulations']:,} runs, seed {first['seed']}",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("account", no_wrap=True, max_width=22, overflow="ellipsis")
    table.add_column("method")
    for column in ("final p5", "p50", "p95", "max dd p50", "p95", "longest dd (d) p95"):
        table.add_column(column, justify="right")
    for account, found in report.items():
        for method in ("bootstrap", "reshuffle"):
            final = found[method]["final_equity"]
            drawdown = found[method]["max_drawdown"]
            longest = found[method]["longest_drawdown_days"]
            table.add_row(
                account,
                method,
                *(f"{final[p]:,.0f}" for p in ("p5", "p50", "p95")),
                f"{drawdown['p50']:.1%}",
                f"{drawdown['p95']:.1%}",
                f"{longest['p95']:.2f}",
            )
    console.print(table)


def print_research(console: Console, reports: dict[str, Any]) -> None:
    if "walk_forward" in reports:
        print_walk_forward(console, reports["walk_forward"])
    if "monte_carlo" in reports:
        print_monte_carlo(console, reports["monte_carlo"])
    if "research_report" in reports:
        console.print(f"research report: {reports['research_report']}")
