"""The report's interactive charts (Plotly): zoom and hover, per account.

Each account gets equity with its drawdown below, on the run's own time range; its trades'
entries and exits at their prices (a run need not store its ticks, but every trade knows
where it went in and out); a table of monthly returns; and the distribution of trade PnL.
plotly.js is written once next to the page (`plotly.min.js`), never fetched from a CDN, so a
report opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from flows.runs.results import AccountResult

PLOTLY_JS = "plotly.min.js"


def write_plotly_js(directory: Path) -> None:
    """plotly.js beside the reports, once (it is the same for every report)."""
    from plotly.offline import get_plotlyjs

    target = directory / PLOTLY_JS
    if not target.exists():
        target.write_text(get_plotlyjs())


def _datetimes(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[ms]")


def account_figure(result: AccountResult) -> Any:
    """Equity, drawdown and the trades' entries and exits of one account, on shared time."""
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.45, 0.2, 0.35],
        vertical_spacing=0.04,
        subplot_titles=("equity", "drawdown %", "trades: entries and exits at their prices"),
    )
    times = _datetimes(result.ts)
    figure.add_scatter(x=times, y=result.equity, name="equity", row=1, col=1)
    if len(result.equity):
        peak = np.maximum.accumulate(result.equity)
        drawdown = (result.equity / peak - 1.0) * 100
        figure.add_scatter(x=times, y=drawdown, fill="tozeroy", name="drawdown %", row=2, col=1)
    for won, colour in ((True, "#1a7f37"), (False, "#cf222e")):
        chosen = [t for t in result.trades if (t.pnl > 0) is won]
        if not chosen:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        for trade in chosen:  # a segment per trade, from its entry to its exit
            xs += [_datetimes(np.array([trade.entry_ts, trade.exit_ts])), [None]]
            ys += [[trade.entry_price, trade.exit_price], [None]]
        figure.add_scatter(
            x=np.concatenate([np.asarray(x, dtype=object) for x in xs]),
            y=np.concatenate([np.asarray(y, dtype=object) for y in ys]),
            mode="lines+markers",
            line={"color": colour, "width": 1},
            marker={"size": 5},
            name="winning trades" if won else "losing trades",
            row=3,
            col=1,
        )
    if len(times):  # the run's own range: nothing else stretches the axis
        figure.update_xaxes(range=[times[0], times[-1]])
    figure.update_layout(
        height=720, margin={"l": 60, "r": 20, "t": 40, "b": 30}, hovermode="x unified"
    )
    return figure


def pnl_histogram(result: AccountResult) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure(go.Histogram(x=[t.pnl for t in result.trades], nbinsx=40, name="PnL"))
    figure.update_layout(
        height=300,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        title="distribution of trade PnL (quote currency)",
        xaxis_title="PnL per round trip",
        yaxis_title="trades",
    )
    return figure


def monthly_returns(result: AccountResult) -> dict[tuple[int, int], float]:
    """(year, month) -> the month's return: last equity of the month over the last before it."""
    if not len(result.ts):
        return {}
    months = _datetimes(result.ts).astype("datetime64[M]")
    last = np.flatnonzero(np.r_[months[1:] != months[:-1], True])  # each month's last row
    ends = result.equity[last]
    starts = np.r_[result.equity[0], ends[:-1]]
    out = {}
    for at, start, end in zip(last, starts, ends, strict=True):
        month = months[at].astype(object)
        out[(month.year, month.month)] = float(end / start - 1.0) if start else 0.0
    return out


def monthly_table(result: AccountResult) -> str:
    """Monthly returns as an HTML table, a row a year (percent)."""
    returns = monthly_returns(result)
    if not returns:
        return "<p>No equity recorded.</p>"
    years = sorted({year for year, _ in returns})
    header = "".join(f"<th>{m}</th>" for m in range(1, 13))
    rows = []
    for year in years:
        cells = []
        for month in range(1, 13):
            value = returns.get((year, month))
            if value is None:
                cells.append("<td></td>")
            else:
                kind = "win" if value > 0 else "loss" if value < 0 else ""
                cells.append(f"<td class='{kind}'>{value * 100:.2f}</td>")
        rows.append(f"<tr><td>{year}</td>{''.join(cells)}</tr>")
    return (
        f"<table class='monthly'><tr><th>year \\ month (%)</th>{header}</tr>{''.join(rows)}</table>"
    )


def account_sections(results: Sequence[AccountResult]) -> str:
    """One section per account: its charts (as divs using plotly.js) and its tables."""
    parts = []
    for number, result in enumerate(results):
        charts = account_figure(result).to_html(
            full_html=False, include_plotlyjs=False, div_id=f"account-{number}"
        )
        histogram = pnl_histogram(result).to_html(
            full_html=False, include_plotlyjs=False, div_id=f"pnl-{number}"
        )
        parts.append(
            f"<section class='account'><h2>{_escape(result.account_id)}</h2>{charts}"
            f"<h3>Monthly returns</h3>{monthly_table(result)}{histogram}</section>"
        )
    return "".join(parts)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
