"""What the command groups share: where messages go, and the broker a command needs."""

from __future__ import annotations

import typer
from rich.console import Console

from schemas.settings import Settings

console = Console(stderr=True)  # stdout stays clean for --json output


def bootstrap_servers(settings: Settings, what: str) -> str:
    """The configured broker; `what` (the command) needs one that outlives it."""
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter(
            f"{what} needs a broker that outlives this command: start one with "
            "`strikeflow broker` and set STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS to its address"
        )
    return settings.kafka_bootstrap_servers
