"""The live flow's heartbeat: how long ago it last wrote a market tick (for readiness)."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.common import LIVE_RUN
from sinks.store.filters import RunFilter


def heartbeat_age(client: Client, run_id: str = LIVE_RUN) -> float | None:
    """Seconds since the run last wrote a tick to `market_ticks` (max `ingested_at`, by the
    ClickHouse server's clock), or None before its first. Raises whatever the driver raises
    when ClickHouse does not answer."""
    where = RunFilter(run_id).where()
    rows = client.query(
        "SELECT count() > 0, toUnixTimestamp(max(ingested_at)), toUnixTimestamp(now()) "
        f"FROM market_ticks WHERE {where.sql}",
        parameters=where.parameters,
    ).result_rows
    written, last, now = rows[0]
    return float(max(now - last, 0)) if written else None
