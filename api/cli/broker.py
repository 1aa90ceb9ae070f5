"""`strikeflow broker`: the bundled Kafka-compatible broker, in the foreground."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console
from api.runtime.broker import EmbeddedBroker
from schemas.settings import Settings
from sinks.kafka.admin import ensure_topics


def broker(
    port: Annotated[int, typer.Option(help="Loopback port; 0 picks a free one.")] = 9092,
    ready_file: Annotated[
        Path | None, typer.Option(help="Write host:port here once the broker answers.")
    ] = None,
) -> None:
    """Run the bundled Kafka-compatible broker in the foreground, with every topic created."""
    settings = Settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmbeddedBroker(port=port) as running:
        ensure_topics(running.bootstrap, settings.topics.partitions(settings.ticks_partitions))
        if ready_file:
            ready_file.write_text(running.bootstrap + "\n")
        console.print(f"broker listening on {running.bootstrap} (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


def register(app: typer.Typer) -> None:
    """Add `broker` as a top-level command of the `strikeflow` CLI."""
    app.command("broker")(broker)
