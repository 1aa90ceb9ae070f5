"""A backtest's report: one self-contained HTML page (charts embedded as PNG) and the PNG.

Equity curves of every account, their drawdowns, a metrics table and the trades.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from flows.runs.results import AccountResult

SHOWN_METRICS = (
    "final_equity",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "win_rate",
    "profit_factor",
    "expectancy",
    "exposure",
    "trade_count",
)
MAX_TRADES_SHOWN = 500


def _times(ts: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(t / 1000, tz=UTC) for t in ts.tolist()]


def chart_png(results: Sequence[AccountResult], title: str) -> bytes:
    # Imported here: matplotlib takes seconds to import and only reports need it.
    import matplotlib

    matplotlib.use("Agg")  # no display here or on servers
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]}
    )
    for result in results:
        if not len(result.ts):
            continue
        times = _times(result.ts)
        top.plot(times, result.equity, linewidth=1.2, label=result.account_id)
        peak = np.maximum.accumulate(result.equity)
        bottom.fill_between(times, (result.equity / peak - 1.0) * 100, 0, alpha=0.35)
        if result.trades:  # each trade's exit, on the curve: green won, red lost
            exits = np.array([t.exit_ts for t in result.trades], dtype=np.int64)
            where = np.minimum(np.searchsorted(result.ts, exits), len(result.ts) - 1)
            won = np.array([t.pnl > 0 for t in result.trades])
            for mask, colour in ((won, "tab:green"), (~won, "tab:red")):
                top.scatter(
                    _times(exits[mask]), result.equity[where[mask]], s=6, color=colour, zorder=3
                )
    top.set_title(title)
    top.set_ylabel("equity")
    top.grid(alpha=0.3)
    if top.get_legend_handles_labels()[0]:
        top.legend(loc="best", fontsize=8)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _number(value: float) -> str:
    return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"


def write_report(
    directory: Path, run_id: str, results: Sequence[AccountResult], source: str
) -> Path:
    """Write `<run_id>.html` and `<run_id>.png` into `directory`; return the HTML's path."""
    directory.mkdir(parents=True, exist_ok=True)
    png = chart_png(results, f"{run_id} ({source})")
    (directory / f"{run_id}.png").write_bytes(png)
    header = "".join(f"<th>{html.escape(name)}</th>" for name in SHOWN_METRICS)
    rows = "".join(
        "<tr><td>"
        + html.escape(result.account_id)
        + "</td>"
        + "".join(f"<td>{_number(result.metrics.values()[name])}</td>" for name in SHOWN_METRICS)
        + "</tr>"
        for result in results
    )
    trades = [trade for result in results for trade in result.trades][:MAX_TRADES_SHOWN]
    trade_rows = "".join(
        f"<tr><td>{html.escape(t.account_id)}</td><td>{html.escape(t.instrument)}</td>"
        f"<td>{t.direction.value}</td><td>{t.quantity}</td>"
        f"<td>{datetime.fromtimestamp(t.entry_ts / 1000, tz=UTC):%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{datetime.fromtimestamp(t.exit_ts / 1000, tz=UTC):%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{t.entry_price:,.4f}</td><td>{t.exit_price:,.4f}</td>"
        f"<td class='{'win' if t.pnl > 0 else 'loss'}'>{t.pnl:,.2f}</td></tr>"
        for t in trades
    )
    total_trades = sum(len(result.trades) for result in results)
    encoded = base64.b64encode(png).decode()
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest {html.escape(run_id)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.win {{ color: #1a7f37; }} .loss {{ color: #cf222e; }}
</style></head>
<body>
<h1>Backtest <code>{html.escape(run_id)}</code></h1>
<p>Source: <code>{html.escape(source)}</code>; {len(results)} account(s), {total_trades} trades.</p>
<img id="equity" alt="equity and drawdown" src="data:image/png;base64,{encoded}">
<h2>Metrics</h2>
<table id="metrics"><tr><th>account</th>{header}</tr>{rows}</table>
<h2>Trades</h2>
<p>{min(total_trades, MAX_TRADES_SHOWN)} of {total_trades} shown.</p>
<table id="trades"><tr><th>account</th><th>instrument</th><th>direction</th><th>quantity</th>
<th>entry (UTC)</th><th>exit (UTC)</th><th>entry price</th><th>exit price</th><th>pnl</th></tr>
{trade_rows}</table>
</body></html>
"""
    path = directory / f"{run_id}.html"
    path.write_text(page)
    return path
