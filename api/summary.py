"""What a run did, read back from ClickHouse: the demo's and backtests' closing summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from flows.backtest import AccountResult, account_result
from schemas.config import AlgorithmConfig


def _count(client: Client, table: str, run_id: str, extra: str = "1") -> int:
    result = client.query(
        f"SELECT count() FROM {table} FINAL WHERE run_id = {{run:String}} AND {extra}",
        parameters={"run": run_id},
    )
    return int(result.result_rows[0][0])


def run_summary(
    client: Client, run_id: str, configs: Sequence[AlgorithmConfig]
) -> tuple[dict[str, Any], list[AccountResult]]:
    """Counts over the run's tables, and each account's result; totals are over accounts."""
    rules = client.query(
        "SELECT rule, count() FROM auto_decisions FINAL "
        "WHERE run_id = {run:String} AND NOT approved GROUP BY rule ORDER BY rule",
        parameters={"run": run_id},
    ).result_rows
    results = [account_result(client, run_id, config) for config in configs]
    starting = sum(config.starting_cash for config in configs)
    final = sum(result.metrics["final_equity"] for result in results)
    summary: dict[str, Any] = {
        "run_id": run_id,
        "ticks": _count(client, "market_ticks", run_id),
        "signals": _count(client, "auto_signals", run_id),
        "approved": _count(client, "auto_decisions", run_id, "approved"),
        "rejected": _count(client, "auto_decisions", run_id, "NOT approved"),
        "rejected_by_rule": {str(rule): int(count) for rule, count in rules},
        "fills": _count(client, "paper_fills", run_id),
        "alerts": _count(client, "alerts", run_id),
        "starting_equity": round(starting, 2),
        "final_equity": round(final, 2),
        "pnl": round(final - starting, 2),
        "max_drawdown": max((r.metrics.get("max_drawdown", 0.0) for r in results), default=0.0),
        "accounts": {
            r.account_id: {
                "final_equity": round(r.metrics["final_equity"], 2),
                "pnl": round(r.metrics["final_equity"] - c.starting_cash, 2),
                "max_drawdown": r.metrics.get("max_drawdown", 0.0),
                "trades": len(r.trades),
            }
            for r, c in zip(results, configs, strict=True)
        },
    }
    return summary, results


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
