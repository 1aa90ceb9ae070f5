"""The `strikeflow` command line: one module per command group, registered here.

Each module imports what is heavy (Bytewax, numpy, ClickHouse, uvicorn) only when one of its
commands runs, so that `strikeflow --help` and the quick commands start fast.
"""

from __future__ import annotations

import typer

from api.cli import (
    backtest,
    broker,
    configs,
    dashboards,
    db,
    demo,
    feed,
    fingerprint,
    orders,
    pricing,
    schemas,
    serve,
)

app = typer.Typer(no_args_is_help=True, help="strikeflow: streaming paper trading for options.")

# In the order `strikeflow --help` has always listed them (commands, then groups).
for group in (
    db,
    schemas,
    broker,
    dashboards,
    pricing,
    feed,
    backtest,
    demo,
    fingerprint,
    configs,
    orders,
    serve,
):
    group.register(app)
