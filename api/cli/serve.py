"""`strikeflow serve`: the control plane (REST + WebSocket), with the live flow where it must be."""

from __future__ import annotations

import logging
import os
import secrets
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from pydantic import SecretStr

from api.cli.common import console
from schemas.settings import Settings

TOKEN_FILE = "api-token"


def write_token(data_dir: Path, token: str) -> Path:
    """Write the token to <data_dir>/api-token, readable by its owner only (mode 0600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TOKEN_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        handle.write(token + "\n")
    return path


def with_api_token(settings: Settings) -> Settings:
    """The settings, checked for serving, with a token: a random one, printed and written to
    <data_dir>/api-token, when STRIKEFLOW_API_TOKEN is unset."""
    if not settings.embedded_clickhouse and not settings.kafka_bootstrap_servers:
        raise typer.BadParameter(
            "with a ClickHouse server, set STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS to the cluster "
            "the flow uses"
        )
    if settings.api_token is not None:
        return settings
    token = secrets.token_urlsafe(32)
    path = write_token(settings.data_dir, token)
    console.print(f"API token (also in {path}): {token}", soft_wrap=True, markup=False)
    return settings.model_copy(update={"api_token": SecretStr(token)})


def serve(
    host: Annotated[str | None, typer.Option(help="Default: STRIKEFLOW_API_HOST.")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Default: STRIKEFLOW_API_PORT.")
    ] = None,
    feed: Annotated[
        bool,
        typer.Option("--feed/--no-feed", help="Also run the simulated feed in real time."),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=8, help="Live flow worker threads per process.")
    ] = 1,
    processes: Annotated[
        int, typer.Option(min=1, max=8, help="Live flow processes (both cores: 2).")
    ] = 1,
) -> None:
    """Serve the control plane: REST and WebSocket API, and what it needs to be useful.

    On the embedded default (STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS unset, a chdb ClickHouse) this
    starts the bundled broker, runs the live flow in a background thread of this process
    (chdb allows one process per database path) and serves the API beside it. With a chdb
    ClickHouse and a configured broker, the flow still runs here. `--processes 2` spreads the
    flow over two processes (both cores); this one stays the only one that opens chdb. Against
    a ClickHouse server the API runs alone: run the flow with `python -m bytewax.run
    flows.live:flow`. `--feed`
    adds simulated ticks, paced in real time from sessions shifted to open now.

    Every call but /health needs a token (a bearer header, or the cookie of a browser login at
    POST /session). If STRIKEFLOW_API_TOKEN is unset, a random token is generated at every
    start, printed to stderr and written to <data_dir>/api-token with mode 0600. Only the
    hosts in STRIKEFLOW_API_ALLOWED_HOSTS are answered (loopback by default): with --host
    0.0.0.0, list the names clients use.
    """
    settings = with_api_token(Settings())
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve_until_stopped(settings, host, port, feed=feed, workers=workers, processes=processes)


def serve_until_stopped(
    settings: Settings,
    host: str | None,
    port: int | None,
    *,
    feed: bool,
    workers: int,
    processes: int = 1,
) -> None:
    """The embedded runtime and the API beside it, until SIGINT or SIGTERM stops them."""
    # Deferred: uvicorn, FastAPI, Bytewax and ClickHouse would slow `strikeflow --help`.
    import uvicorn

    from api.app import create_app
    from api.deps import Services
    from api.runtime.live import EmbeddedRuntime

    # SIGTERM (docker stop) interrupts like Ctrl-C, so the broker and the flow are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    runtime = EmbeddedRuntime(settings, feed=feed, workers=workers, processes=processes)
    settings = runtime.start()
    try:
        flow_alive = runtime.flow_alive if runtime.flow is not None else None
        app = create_app(settings, Services(settings, flow_alive=flow_alive))
        console.print(
            f"broker {settings.kafka_bootstrap_servers}; ClickHouse {settings.dsn}; "
            + ("live flow in this process" if runtime.flow else "live flow runs elsewhere")
            + ("; simulated feed on" if runtime.feed else "")
        )
        config = uvicorn.Config(
            app,
            host=host or settings.api_host,
            port=settings.api_port if port is None else port,
            log_level="info",
        )
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again for the
        # handler it found: a quiet one, so the shutdown goes on to stop the runtime and exit 0.
        signal.signal(signal.SIGINT, _already_handled)
        signal.signal(signal.SIGTERM, _already_handled)
        uvicorn.Server(config).run()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        runtime.stop()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _already_handled(_signum: int, _frame: FrameType | None) -> None:
    return


def register(app: typer.Typer) -> None:
    """Add `serve` as a top-level command of the `strikeflow` CLI."""
    app.command("serve")(serve)
