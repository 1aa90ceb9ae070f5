"""How a run reads on the terminal: the demo's closing summary and a backtest's ranking, as
tables or as JSON. Formatting only: the numbers come from the store and the run's results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from flows.runs.report import MIN_DAYS_FOR_ANNUALISED, metric_text, span_days
from schemas.config import AlgorithmConfig

if TYPE_CHECKING:
    from flows.runs.results import AccountResult, BacktestResult
    from sinks.store.summary import RunCounts

RANKING_METRICS = (
    "total_return",
    "sharpe",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "trade_count",
)


def run_summary(
    run_id: str,
    counts: RunCounts,
    configs: Sequence[AlgorithmConfig],
    results: Sequence[AccountResult],
) -> dict[str, Any]:
    """The summary as JSON: the run's counts, and each account's result (in `configs` order);
    totals are over accounts, money rounded to cents."""
    starting = sum(config.starting_cash for config in configs)
    final = sum(result.metrics.final_equity for result in results)
    return {
        "run_id": run_id,
        "ticks": counts.ticks,
        "signals": counts.signals,
        "approved": counts.approved,
        "rejected": counts.rejected,
        "rejected_by_rule": counts.rejected_by_rule,
        "fills": counts.fills,
        "alerts": counts.alerts,
        "starting_equity": round(starting, 2),
        "final_equity": round(final, 2),
        "pnl": round(final - starting, 2),
        "max_drawdown": max((r.metrics.max_drawdown for r in results), default=0.0),
        "accounts": {
            r.account_id: {
                "final_equity": round(r.metrics.final_equity, 2),
                "pnl": round(r.metrics.final_equity - c.starting_cash, 2),
                "max_drawdown": r.metrics.max_drawdown,
                "trades": len(r.trades),
            }
            for r, c in zip(results, configs, strict=True)
        },
    }


def print_summary(console: Console, summary: dict[str, Any], title: str) -> None:
    totals = Table(title=title, show_header=False)
    totals.add_column("what")
    totals.add_column("value", justify="right")
    for key in ("ticks", "signals", "approved", "rejected", "fills", "alerts"):
        totals.add_row(key, f"{summary[key]:,}")
    for rule, count in summary["rejected_by_rule"].items():
        totals.add_row(f"  rejected by {rule}", f"{count:,}")
    totals.add_row("PnL", f"{summary['pnl']:,.2f}")
    totals.add_row("final equity", f"{summary['final_equity']:,.2f}")
    totals.add_row("max drawdown", f"{summary['max_drawdown']:.2%}")
    console.print(totals)
    accounts = Table(title="accounts")
    for column in ("account", "trades", "PnL", "final equity", "max drawdown"):
        accounts.add_column(column, justify="left" if column == "account" else "right")
    for account, row in summary["accounts"].items():
        accounts.add_row(
            account,
            f"{row['trades']:,}",
            f"{row['pnl']:,.2f}",
            f"{row['final_equity']:,.2f}",
            f"{row['max_drawdown']:.2%}",
        )
    console.print(accounts)
    if "fingerprint" in summary:  # on its own line: a narrow terminal would cut it in a table
        console.print(f"fingerprint: {summary['fingerprint']}", overflow="ignore", crop=False)


def ranked(result: BacktestResult) -> list[AccountResult]:
    """The backtest's accounts, best total return first."""
    return sorted(result.accounts, key=lambda r: r.metrics.total_return, reverse=True)


def backtest_json(result: BacktestResult) -> dict[str, Any]:
    """The run, and each account's metrics and trades (with their excursions, see
    `flows.trading.research.excursions`), best first."""
    return {
        "run_id": result.run.run_id,
        "status": result.run.status.value,
        "ticks": result.run.ticks,
        "report": result.run.report_path,
        "fingerprint": result.run.fingerprint,
        "accounts": [
            {
                "account_id": r.account_id,
                "metrics": r.metrics.values(),
                "trades": [
                    {**t.model_dump(mode="json"), **e.as_dict()}
                    for t, e in zip(r.trades, r.excursions, strict=True)
                ],
            }
            for r in ranked(result)
        ],
    }


def print_backtest(console: Console, result: BacktestResult) -> None:
    """The accounts ranked by total return, with the metrics that compare them."""
    table = Table(title=f"backtest {result.run.run_id}: {result.run.ticks:,} messages")
    table.add_column("rank", justify="right")
    table.add_column("account")
    for name in RANKING_METRICS:
        table.add_column(name, justify="right")
    for rank, r in enumerate(ranked(result), 1):
        values, days = r.metrics.values(), span_days(r)
        table.add_row(
            str(rank), r.account_id, *(metric_text(n, values[n], days) for n in RANKING_METRICS)
        )
    console.print(table)
    if any(span_days(r) < MIN_DAYS_FOR_ANNUALISED for r in result.accounts):
        console.print(
            f"n/a: annualised metrics read daily returns; a run shorter than "
            f"{MIN_DAYS_FOR_ANNUALISED} days has too few."
        )
    console.print(f"fingerprint: {result.run.fingerprint}", overflow="ignore", crop=False)
