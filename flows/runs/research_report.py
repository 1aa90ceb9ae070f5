"""The research page of a backtest: one self-contained HTML file beside the run's report.

What it shows, from the `walk_forward` and `monte_carlo` reports of `flows.runs.research`:
the stitched out-of-sample equity beside the in-sample best's, the parameters chosen in each
window over time, a table of the windows, out of sample against in sample, and the Monte
Carlo percentiles of each account as a chart and a table.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

METRICS_SHOWN = ("total_return", "sharpe", "max_drawdown", "psr", "deflated_sharpe", "sqn")
WINDOW_METRICS = ("total_return", "max_drawdown", "psr")


def _times(ts: list[int]) -> list[datetime]:
    return [datetime.fromtimestamp(t / 1000, tz=UTC) for t in ts]


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _pyplot() -> Any:
    # Imported here: matplotlib takes seconds to import and only reports need it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def walk_forward_chart(report: dict[str, Any]) -> str:
    """Equity: out of sample (stitched) and the in-sample best; below, the choice per window."""
    plt = _pyplot()
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.2]}
    )
    best = report["in_sample_best"]
    top.plot(
        _times(best["equity"]["ts"]),
        best["equity"]["equity"],
        color="#999999",
        linewidth=1.1,
        label=f"in sample: best of the sweep ({best['account_id']})",
    )
    top.plot(
        _times(report["equity"]["ts"]),
        report["equity"]["equity"],
        color="#1f5fbf",
        linewidth=1.4,
        label="out of sample: stitched test windows",
    )
    for window in report["windows"]:
        top.axvline(_times([window["test_from"]])[0], color="#dddddd", linewidth=0.8, zorder=0)
    top.set_ylabel("equity")
    top.legend(loc="best", fontsize=9, framealpha=0.6)
    top.set_title(f"walk-forward, objective {report['objective']}")
    chosen = sorted({w["chosen"] for w in report["windows"]})
    for window in report["windows"]:
        level = chosen.index(window["chosen"])
        start, end = _times([window["test_from"], window["test_to"]])
        bottom.plot(
            [start, end], [level, level], linewidth=6, solid_capstyle="butt", color=f"C{level}"
        )
    bottom.set_yticks(range(len(chosen)))
    bottom.set_yticklabels(
        [_parameters(next(w for w in report["windows"] if w["chosen"] == c)) for c in chosen],
        fontsize=8,
    )
    bottom.set_ylim(-0.7, len(chosen) - 0.3)
    bottom.set_title("chosen parameters per test window", fontsize=10)
    figure.autofmt_xdate()
    encoded = _png(figure)
    plt.close(figure)
    return encoded


def monte_carlo_chart(report: dict[str, Any]) -> str:
    """Per account: the 5-95 % band and median of final equity, for both resamplings."""
    plt = _pyplot()
    names = list(report)
    figure, axis = plt.subplots(figsize=(11, 0.5 * len(names) + 1.6))
    for offset, method, colour in ((-0.15, "bootstrap", "#1f5fbf"), (0.15, "reshuffle", "#d08000")):
        for row, name in enumerate(names):
            final = report[name][method]["final_equity"]
            axis.plot(
                [final["p5"], final["p95"]],
                [row + offset] * 2,
                color=colour,
                linewidth=3,
                label=method if row == 0 else None,
            )
            axis.plot([final["p50"]], [row + offset], marker="o", color=colour, markersize=6)
    axis.set_yticks(range(len(names)))
    axis.set_yticklabels(names, fontsize=8)
    axis.set_xlabel("final equity: 5th to 95th percentile, median as a dot")
    axis.legend(loc="lower right", fontsize=9)
    axis.set_title("Monte Carlo of trades")
    encoded = _png(figure)
    plt.close(figure)
    return encoded


def _parameters(window: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in window["parameters"].items()) or window["chosen"]


def _cell(value: float, name: str) -> str:
    if name in ("total_return", "max_drawdown"):
        return f"{value:.2%}"
    return f"{value:,.3f}"


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _walk_forward_html(report: dict[str, Any]) -> str:
    head = f"<th>IS {html.escape(report['objective'])} (score)</th>"
    head += "".join(f"<th>IS {n}</th>" for n in WINDOW_METRICS) + "".join(
        f"<th>OOS {n}</th>" for n in WINDOW_METRICS
    )
    rows = "".join(
        f"<tr><td>{_day(w['test_from'])}</td><td>{_day(w['test_to'])}</td>"
        f"<td>{html.escape(_parameters(w))}</td><td>{w['score']:,.3f}</td>"
        + "".join(f"<td>{_cell(w['in_sample'][n], n)}</td>" for n in WINDOW_METRICS)
        + "".join(f"<td>{_cell(w['out_of_sample'][n], n)}</td>" for n in WINDOW_METRICS)
        + "</tr>"
        for w in report["windows"]
    )
    best = report["in_sample_best"]
    summary = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{_cell(metrics[n], n)}</td>" for n in METRICS_SHOWN)
        + "</tr>"
        for name, metrics in (
            ("out of sample (stitched)", report["out_of_sample"]),
            (f"in sample: {best['account_id']}", best["metrics"]),
        )
    )
    efficiency = report["efficiency"]
    shown = "n/a (in-sample return not positive)" if efficiency is None else f"{efficiency:.2f}"
    return (
        f"<h2>Walk-forward: {report['combinations']} combinations, "
        f"{len(report['windows'])} windows</h2>"
        f'<img alt="walk-forward" src="data:image/png;base64,{walk_forward_chart(report)}">'
        f"<p>Walk-forward efficiency (annualised OOS / IS return): <b>{shown}</b></p>"
        f"<table><tr><th>run</th>{''.join(f'<th>{n}</th>' for n in METRICS_SHOWN)}</tr>"
        f"{summary}</table>"
        f"<table><tr><th>test from</th><th>test to</th><th>chosen</th>{head}</tr>{rows}</table>"
    )


def _monte_carlo_html(report: dict[str, Any]) -> str:
    first = next(iter(report.values()))
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{method}</td>"
        + "".join(
            f"<td>{found[method][what][p]:,.{digits}f}</td>"
            for what, digits in (
                ("final_equity", 2),
                ("max_drawdown", 4),
                ("longest_drawdown_days", 2),
            )
            for p in ("p5", "p50", "p95")
        )
        + "</tr>"
        for name, found in report.items()
        for method in ("bootstrap", "reshuffle")
    )
    groups = "".join(
        f"<th>{what} p{p}</th>"
        for what in ("final equity", "max drawdown", "longest dd days")
        for p in (5, 50, 95)
    )
    return (
        f"<h2>Monte Carlo of trades: {first['simulations']:,} runs, seed {first['seed']}</h2>"
        f'<img alt="monte carlo" src="data:image/png;base64,{monte_carlo_chart(report)}">'
        f"<table><tr><th>account</th><th>method</th>{groups}</tr>{rows}</table>"
    )


STYLE = (
    "body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;"
    "margin:12px 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
)


def write_research_report(directory: Path, run_id: str, reports: dict[str, Any]) -> Path:
    """`<directory>/<run_id>-research.html` with what `reports` holds."""
    parts = []
    if "walk_forward" in reports:
        parts.append(_walk_forward_html(reports["walk_forward"]))
    if "monte_carlo" in reports:
        parts.append(_monte_carlo_html(reports["monte_carlo"]))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(run_id)} "
        f"research</title><style>{STYLE}</style></head><body>"
        f"<h1>Research: {html.escape(run_id)}</h1>{''.join(parts)}</body></html>"
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run_id}-research.html"
    path.write_text(page)
    return path
