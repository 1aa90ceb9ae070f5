"""Inserting Rows into one database, retrying transient failures with exponential backoff.

An insert into a year-partitioned table is split so that no block spans more partitions than
the server's `max_partitions_per_insert_block`: a batch of a century of daily bars is written in
two blocks instead of being refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from schemas.tables import YEAR_PARTITIONED, Rows, concat
from sinks.clickhouse.arrow import to_arrow
from sinks.metrics import INSERT_RETRIES, INSERT_SECONDS, ROWS_WRITTEN

log = logging.getLogger(__name__)


class Writer:
    """Inserts Rows into one database, retrying transient failures with exponential backoff."""

    def __init__(
        self,
        connect_client: Callable[[], Client],
        attempts: int = 8,
        first_delay: float = 0.2,
        max_delay: float = 10.0,
        max_partitions: int = 100,
    ):
        self._connect = connect_client
        self._client: Client | None = None
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_partitions = max_partitions  # per insert block; 0 never splits

    def write(self, batches: Sequence[Rows]) -> int:
        by_table: dict[str, list[Rows]] = {}
        for batch in batches:
            if len(batch):
                by_table.setdefault(batch.table, []).append(batch)
        written = 0
        for _, parts in sorted(by_table.items()):
            rows = concat(parts)
            for block in partition_blocks(rows, self.max_partitions):
                self._insert(block)
            written += len(rows)
        return written

    def _insert(self, rows: Rows) -> None:
        table = to_arrow(rows)
        delay = self.first_delay
        started = time.perf_counter()
        for attempt in range(1, self.attempts + 1):
            try:
                if self._client is None:
                    self._client = self._connect()
                self._client.insert_arrow(rows.table, table)
                INSERT_SECONDS.labels(rows.table).observe(time.perf_counter() - started)
                ROWS_WRITTEN.labels(rows.table).inc(len(rows))
                return
            except (OperationalError, ClickHouseError, OSError) as error:
                if attempt == self.attempts or not _transient(error):
                    raise
                log.warning(
                    "insert into %s failed (%s); retrying in %.1fs", rows.table, error, delay
                )
                INSERT_RETRIES.labels(rows.table).inc()
                self.close()
                time.sleep(delay)
                delay = min(delay * 2, self.max_delay)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def partition_blocks(rows: Rows, max_partitions: int) -> list[Rows]:
    """`rows` cut into blocks of at most `max_partitions` years each (their partitions), in
    year order; one block when that is already so, or the table is not partitioned."""
    if max_partitions <= 0 or rows.table not in YEAR_PARTITIONED or not len(rows):
        return [rows]
    ts = np.asarray(rows.data["ts"], dtype=np.int64)
    years = ts.astype("datetime64[ms]").astype("datetime64[Y]").astype(np.int64)
    distinct = np.unique(years)
    if len(distinct) <= max_partitions:
        return [rows]
    blocks = []
    for start in range(0, len(distinct), max_partitions):
        chosen = distinct[start : start + max_partitions]
        blocks.append(rows.take(np.flatnonzero(np.isin(years, chosen))))
    return blocks


def _transient(error: Exception) -> bool:
    """Network trouble and overloaded servers pass; a bad schema or bad data does not, nor a
    block the server refuses for its partitions (the same block would be refused again, and
    chdb has been seen to abort the whole engine after repeated refusals)."""
    if isinstance(error, OperationalError | OSError):
        return True
    text = str(error)
    if "partitions for single INSERT block" in text:
        return False
    return any(
        marker in text
        for marker in ("TOO_MANY_", "TIMEOUT", "NETWORK_ERROR", "MEMORY_LIMIT", "Code: 202")
    )
