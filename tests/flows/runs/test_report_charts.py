"""The report's figures, written as plotly.js JSON without plotly's Python objects, are the
figures plotly builds for the same charts: the same traces and values, the subplot layout of
`make_subplots`, and plotly's default look."""

from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from flows.runs.report_charts import TEMPLATE, account_figure, figure_html, pnl_histogram
from flows.runs.results import AccountResult
from schemas.common import Direction
from schemas.metrics import RunMetrics
from schemas.trading import Trade

T0 = 1_795_000_000_000


def trade(n: int, pnl: float) -> Trade:
    return Trade(
        account_id="acct",
        instrument="AAPL",
        underlying="AAPL",
        direction=Direction.LONG,
        quantity=10,
        entry_ts=T0 + n * 60_000,
        exit_ts=T0 + n * 60_000 + 30_000,
        entry_price=100.0 + n,
        exit_price=100.0 + n + pnl / 10,
        pnl=pnl,
        commissions=0.0,
    )


def result() -> AccountResult:
    ts = T0 + 60_000 * np.arange(8, dtype=np.int64)
    equity = np.array([1e5, 1e5 + 5, 1e5 - 20, 1e5 - 7.5, 1e5 + 40, 1e5 + 38, 1e5 + 41, 1e5 + 3])
    trades = [trade(0, 5.0), trade(2, -12.5), trade(3, 47.5), trade(6, -38.0)]
    metrics = RunMetrics.model_construct()  # the charts read no metric
    return AccountResult("acct", metrics, trades, ts, equity, starting_equity=1e5)


def plotly_account_figure(r: AccountResult) -> dict:
    """The account figure as the report built it with plotly's objects."""
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.45, 0.2, 0.35],
        vertical_spacing=0.04,
        subplot_titles=("equity", "drawdown %", "trades: entries and exits at their prices"),
    )
    times = [str(t) for t in r.ts.astype("datetime64[ms]")]
    figure.add_scatter(x=times, y=r.equity.tolist(), name="equity", row=1, col=1)
    drawdown = (r.equity / np.maximum.accumulate(r.equity) - 1.0) * 100
    figure.add_scatter(
        x=times, y=drawdown.tolist(), fill="tozeroy", name="drawdown %", row=2, col=1
    )
    for won, colour in ((True, "#1a7f37"), (False, "#cf222e")):
        xs: list = []
        ys: list = []
        for t in (t for t in r.trades if (t.pnl > 0) is won):
            xs += [str(np.datetime64(t.entry_ts, "ms")), str(np.datetime64(t.exit_ts, "ms")), None]
            ys += [t.entry_price, t.exit_price, None]
        figure.add_scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            line={"color": colour, "width": 1},
            marker={"size": 5},
            name="winning trades" if won else "losing trades",
            row=3,
            col=1,
        )
    figure.update_xaxes(range=[times[0], times[-1]])
    figure.update_layout(
        height=720, margin={"l": 60, "r": 20, "t": 40, "b": 30}, hovermode="x unified"
    )
    return json.loads(pio.to_json(figure))


def plain(figure: dict) -> dict:
    """A figure's JSON with its template's 2-D part only (the rest draws nothing here)."""
    found = json.loads(json.dumps(figure))
    template = found["layout"].pop("template")
    return {
        "data": found["data"],
        "layout": found["layout"],
        "template": {
            "data": {k: template["data"][k] for k in ("scatter", "histogram")},
            "layout": {k: template["layout"][k] for k in TEMPLATE["layout"]},
        },
    }


def test_the_account_figure_is_plotlys_make_subplots_figure() -> None:
    r = result()
    ours, theirs = plain(account_figure(r)), plain(plotly_account_figure(r))
    assert ours["layout"] == theirs["layout"]
    assert ours["template"] == theirs["template"]
    assert len(ours["data"]) == len(theirs["data"]) == 4
    for mine, plotlys in zip(ours["data"], theirs["data"], strict=True):
        assert mine == plotlys


def test_the_pnl_histogram_is_plotlys() -> None:
    r = result()
    theirs = go.Figure(go.Histogram(x=[t.pnl for t in r.trades], nbinsx=40, name="PnL"))
    theirs.update_layout(
        height=300,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        title="distribution of trade PnL (quote currency)",
        xaxis_title="PnL per round trip",
        yaxis_title="trades",
    )
    assert plain(pnl_histogram(r)) == plain(json.loads(pio.to_json(theirs)))


def test_a_figure_is_drawn_by_a_script_that_cannot_close_its_tag_early() -> None:
    page = figure_html({"data": [{"name": "</script>", "x": [1]}], "layout": {}}, "pnl-0")
    assert page.startswith('<div id="pnl-0" class="plotly-graph-div"')
    script = re.search(r"<script>(.*)</script>$", page, re.S)
    assert script is not None
    assert "</" not in script.group(1)
    assert '"name":"<\\/script>"' in script.group(1)  # JSON for "</script>", as a browser reads it


def test_gaps_in_equity_are_nulls_not_invalid_json() -> None:
    r = result()
    r.equity[3] = np.nan
    figure = account_figure(r)
    text = figure_html(figure, "account-0")
    assert "NaN" not in text
    assert figure["data"][0]["y"][3] is None
