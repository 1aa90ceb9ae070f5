"""The report's interactive charts (Plotly): zoom and hover, per account.

Each account gets equity with its drawdown below, on the run's own time range; its trades'
entries and exits at their prices (a run need not store its ticks, but every trade knows
where it went in and out); a table of monthly returns; and the distribution of trade PnL.
plotly.js is written once next to the page (`plotly.min.js`), never fetched from a CDN, so a
report opens offline.

The figures are written as plotly.js reads them (JSON of traces and a layout), not built with
plotly's Python objects: those validate and deep-copy every value, which cost a second or more
of every backtest of a few thousand trades, and importing them a few tenths more. The layout
is what `plotly.subplots.make_subplots` gives for these rows, in plotly's default look
(tests/flows/runs/test_report_charts.py checks both against plotly's own).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from flows.runs.results import AccountResult

PLOTLY_JS = "plotly.min.js"

# The 2-D part of plotly's default template ("plotly"): its colours, grid and fonts.
_PATTERN = {"fillmode": "overlay", "size": 10, "solidity": 0.2}
_AXIS = {
    "gridcolor": "white",
    "linecolor": "white",
    "ticks": "",
    "title": {"standoff": 15},
    "zerolinecolor": "white",
    "automargin": True,
    "zerolinewidth": 2,
}
TEMPLATE: dict[str, Any] = {
    "data": {
        "scatter": [{"fillpattern": _PATTERN, "type": "scatter"}],
        "histogram": [{"marker": {"pattern": _PATTERN}, "type": "histogram"}],
    },
    "layout": {
        "autotypenumbers": "strict",
        "colorway": [
            "#636efa",
            "#EF553B",
            "#00cc96",
            "#ab63fa",
            "#FFA15A",
            "#19d3f3",
            "#FF6692",
            "#B6E880",
            "#FF97FF",
            "#FECB52",
        ],
        "font": {"color": "#2a3f5f"},
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "#E5ECF6",
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "shapedefaults": {"line": {"color": "#2a3f5f"}},
        "annotationdefaults": {"arrowcolor": "#2a3f5f", "arrowhead": 0, "arrowwidth": 1},
        "title": {"x": 0.05},
    },
}

# make_subplots(rows=3, shared_xaxes=True, row_heights=[0.45, 0.2, 0.35],
# vertical_spacing=0.04): each row's y domain, top to bottom, and its title.
_ROWS = (
    ((0.586, 1.0), "equity"),
    ((0.362, 0.546), "drawdown %"),
    ((0.0, 0.322), "trades: entries and exits at their prices"),
)


def write_plotly_js(directory: Path) -> None:
    """plotly.js beside the reports, once (it is the same for every report)."""
    target = directory / PLOTLY_JS
    if not target.exists():
        from plotly.offline import get_plotlyjs

        target.write_text(get_plotlyjs())


def _iso(ts: np.ndarray) -> list[str]:
    """UTC ms as the ISO text plotly.js reads as dates."""
    text: list[str] = np.datetime_as_string(
        np.asarray(ts, dtype=np.int64).astype("datetime64[ms]")
    ).tolist()
    return text


def _numbers(values: np.ndarray) -> list[float | None]:
    """Floats for JSON, a value that is not finite as null (a gap in the line)."""
    if np.isfinite(values).all():
        return [float(v) for v in values.tolist()]
    return [float(v) if np.isfinite(v) else None for v in values.tolist()]


def _subplot_layout(x_range: list[str] | None) -> dict[str, Any]:
    """The three rows' axes (one shared time axis, its labels on the bottom row) and titles."""
    layout: dict[str, Any] = {}
    for number, ((low, high), _) in enumerate(_ROWS, start=1):
        suffix = "" if number == 1 else str(number)
        x_axis: dict[str, Any] = {"anchor": f"y{suffix}", "domain": [0.0, 1.0]}
        if number < len(_ROWS):
            x_axis |= {"matches": f"x{len(_ROWS)}", "showticklabels": False}
        if x_range is not None:
            x_axis["range"] = x_range
        layout[f"xaxis{suffix}"] = x_axis
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [low, high]}
    layout["annotations"] = [
        {
            "font": {"size": 16},
            "showarrow": False,
            "text": title,
            "x": 0.5,
            "xanchor": "center",
            "xref": "paper",
            "y": high,
            "yanchor": "bottom",
            "yref": "paper",
        }
        for (_, high), title in _ROWS
    ]
    return layout


def _trade_segments(result: AccountResult, won: bool) -> tuple[list[Any], list[Any]]:
    """x and y of a line from each trade's entry to its exit, the trades apart (null between)."""
    chosen = [t for t in result.trades if (t.pnl > 0) is won]
    times: np.ndarray = np.empty(3 * len(chosen), dtype=object)
    prices: np.ndarray = np.empty(3 * len(chosen), dtype=object)
    times[0::3] = _iso(np.array([t.entry_ts for t in chosen], dtype=np.int64))
    times[1::3] = _iso(np.array([t.exit_ts for t in chosen], dtype=np.int64))
    prices[0::3] = [t.entry_price for t in chosen]
    prices[1::3] = [t.exit_price for t in chosen]
    return times.tolist(), prices.tolist()


def account_figure(result: AccountResult) -> dict[str, Any]:
    """Equity, drawdown and the trades' entries and exits of one account, on shared time, as
    plotly.js's figure JSON (`data` and `layout`)."""
    times = _iso(result.ts)
    data: list[dict[str, Any]] = [
        {"name": "equity", "type": "scatter", "x": times, "y": _numbers(result.equity)}
        | {"xaxis": "x", "yaxis": "y"}
    ]
    if len(result.equity):
        peak = np.maximum.accumulate(result.equity)
        drawdown = (result.equity / peak - 1.0) * 100
        data.append(
            {"fill": "tozeroy", "name": "drawdown %", "type": "scatter"}
            | {"x": times, "y": _numbers(drawdown), "xaxis": "x2", "yaxis": "y2"}
        )
    for won, colour in ((True, "#1a7f37"), (False, "#cf222e")):
        xs, ys = _trade_segments(result, won)
        if not xs:
            continue
        data.append(
            {
                "line": {"color": colour, "width": 1},
                "marker": {"size": 5},
                "mode": "lines+markers",
                "name": "winning trades" if won else "losing trades",
                "type": "scatter",
                "x": xs,
                "y": ys,
                "xaxis": "x3",
                "yaxis": "y3",
            }
        )
    # The run's own range: nothing else stretches the axis.
    layout = _subplot_layout([times[0], times[-1]] if times else None) | {
        "template": TEMPLATE,
        "height": 720,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 30},
        "hovermode": "x unified",
    }
    return {"data": data, "layout": layout}


def pnl_histogram(result: AccountResult) -> dict[str, Any]:
    data = [{"name": "PnL", "nbinsx": 40, "type": "histogram", "x": [t.pnl for t in result.trades]}]
    layout = {
        "template": TEMPLATE,
        "height": 300,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
        "title": {"text": "distribution of trade PnL (quote currency)"},
        "xaxis": {"title": {"text": "PnL per round trip"}},
        "yaxis": {"title": {"text": "trades"}},
    }
    return {"data": data, "layout": layout}


def figure_html(figure: dict[str, Any], div_id: str) -> str:
    """A div and the script that draws `figure` in it with plotly.js (loaded by the page)."""
    height = figure["layout"].get("height", 450)
    arguments = ", ".join(
        json.dumps(part, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        for part in (div_id, figure["data"], figure["layout"], {"responsive": True})
    )
    return (
        f'<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; width:100%;">'
        f"</div><script>Plotly.newPlot({arguments});</script>"
    )


def monthly_returns(result: AccountResult) -> dict[tuple[int, int], float]:
    """(year, month) -> the month's return: last equity of the month over the last before it."""
    if not len(result.ts):
        return {}
    months = result.ts.astype("datetime64[ms]").astype("datetime64[M]")
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
        charts = figure_html(account_figure(result), f"account-{number}")
        histogram = figure_html(pnl_histogram(result), f"pnl-{number}")
        parts.append(
            f"<section class='account'><h2>{_escape(result.account_id)}</h2>{charts}"
            f"<h3>Monthly returns</h3>{monthly_table(result)}{histogram}</section>"
        )
    return "".join(parts)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
