"""A backtest's report: an HTML page with interactive charts per account (Plotly, its
plotly.js written beside the page) and the PNG of every account's equity (for terminals and CI,
also embedded in the page).

The metrics table (with units), then per account: equity, drawdown, trades, monthly returns
and the distribution of trade PnL; then the trades.
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

from schemas.metrics import RunMetrics

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


def _times(ts: np.ndarray) -> np.ndarray:
    """UTC ms as numpy datetimes, which matplotlib converts as one array (not per value)."""
    return np.asarray(ts, dtype=np.int64).astype("datetime64[ms]")


def chart_png(results: Sequence[AccountResult], title: str) -> bytes:
    # Imported here: matplotlib takes seconds to import and only reports need it.
    import matplotlib

    matplotlib.use("Agg")  # no display here or on servers
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]}
    )
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for number, result in enumerate(results):
        if not len(result.ts):
            continue
        # One colour per account, given explicitly: the line, its drawdown and its legend entry
        # cannot drift apart (each axis has its own colour cycle).
        colour = palette[number % len(palette)]
        times = _times(result.ts)
        top.plot(times, result.equity, linewidth=1.2, label=result.account_id, color=colour)
        peak = np.maximum.accumulate(result.equity)
        drawdown = (result.equity / peak - 1.0) * 100
        bottom.fill_between(times, drawdown, 0, alpha=0.35, color=colour)
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
    # Fixed margins, not tight_layout: measuring every label to place the axes took a third of
    # the chart's time, and these axes and labels are always the same.
    figure.subplots_adjust(left=0.08, right=0.985, top=0.95, bottom=0.14, hspace=0.08)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


# Annualised metrics need daily returns; a run shorter than this has too few to mean anything.
MIN_DAYS_FOR_ANNUALISED = 2
ANNUALISED = frozenset({"cagr", "sharpe", "sortino", "calmar", "annual_volatility"})


def metric_text(name: str, value: float, days: float) -> str:
    """A metric as its unit prints: counts as integers, ratios as percentages; an annualised
    metric of a run shorter than `MIN_DAYS_FOR_ANNUALISED` days as n/a. The report and the
    CLI's table both print metrics this way."""
    if name in ANNUALISED and days < MIN_DAYS_FOR_ANNUALISED:
        return "n/a"
    unit = RunMetrics.UNITS.get(name, "number")
    if unit == "count":
        return f"{round(value):,d}"
    if unit == "ratio":
        return f"{value * 100:,.2f} %"
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "days":
        return f"{value:,.1f} d"
    return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"


def span_days(result: AccountResult) -> float:
    """The days from the account's first sample to its last."""
    return float(result.ts[-1] - result.ts[0]) / 86_400_000 if len(result.ts) else 0.0


def _metric_rows(results: Sequence[AccountResult]) -> str:
    """One table row per account with the shown metrics, each in its unit."""
    return "".join(
        "<tr><td>"
        + html.escape(result.account_id)
        + "</td>"
        + "".join(
            f"<td>{metric_text(name, result.metrics.values()[name], span_days(result))}</td>"
            for name in SHOWN_METRICS
        )
        + "</tr>"
        for result in results
    )


def _trade_rows(results: Sequence[AccountResult]) -> str:
    """The first MAX_TRADES_SHOWN trades of every account, as table rows."""
    trades = [trade for result in results for trade in result.trades][:MAX_TRADES_SHOWN]
    return "".join(
        f"<tr><td>{html.escape(t.account_id)}</td><td>{html.escape(t.instrument)}</td>"
        f"<td>{t.direction.value}</td><td>{t.quantity}</td>"
        f"<td>{datetime.fromtimestamp(t.entry_ts / 1000, tz=UTC):%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{datetime.fromtimestamp(t.exit_ts / 1000, tz=UTC):%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{t.entry_price:,.4f}</td><td>{t.exit_price:,.4f}</td>"
        f"<td class='{'win' if t.pnl > 0 else 'loss'}'>{t.pnl:,.2f}</td></tr>"
        for t in trades
    )


def write_report(
    directory: Path, run_id: str, results: Sequence[AccountResult], source: str
) -> Path:
    """Write `<run_id>.html` and `<run_id>.png` into `directory`; return the HTML's path."""
    from flows.runs.report_charts import PLOTLY_JS, account_sections, write_plotly_js

    directory.mkdir(parents=True, exist_ok=True)
    write_plotly_js(directory)
    sections = account_sections(results)
    png = chart_png(results, f"{run_id} ({source})")
    (directory / f"{run_id}.png").write_bytes(png)
    header = "".join(f"<th>{html.escape(name)}</th>" for name in SHOWN_METRICS)
    rows = _metric_rows(results)
    trade_rows = _trade_rows(results)
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
section.account {{ border-top: 2px solid #ddd; margin-top: 2rem; }}
</style>
<script src="{PLOTLY_JS}"></script></head>
<body>
<h1>Backtest <code>{html.escape(run_id)}</code></h1>
<p>Source: <code>{html.escape(source)}</code>; {len(results)} account(s), {total_trades} trades.</p>
<h2>Metrics</h2>
<table id="metrics"><tr><th>account</th>{header}</tr>{rows}</table>
<p>Returns, drawdown, win rate and exposure in percent; money in the quote currency.
Annualised metrics (CAGR, Sharpe, Sortino, Calmar) read daily returns, so a run shorter than
{MIN_DAYS_FOR_ANNUALISED} days shows n/a for them.</p>
{sections}
<h2>All accounts (static)</h2>
<img id="equity-png" alt="equity and drawdown of every account"
 src="data:image/png;base64,{encoded}">
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
