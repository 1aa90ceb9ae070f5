"""The ClickHouse sink: batched column-oriented inserts, retried with backoff, never duplicated.

Rows carry deterministic ids that are part of each table's sorting key, and every table is a
ReplacingMergeTree, so a batch written twice (a retry, or Bytewax replaying the epoch after a
crash) collapses to one copy. Batching by rows and time happens upstream (`op.collect` in the
flow), so a batch handed to this sink is written at once and nothing waits in memory here.
"""

from __future__ import annotations

import queue
import threading

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from schemas.tables import Rows
from sinks.clickhouse.arrow import SCHEMAS
from sinks.clickhouse.client import connect
from sinks.clickhouse.writer import Writer
from sinks.metrics import SINK_QUEUE


class SinkFailures:
    """Where a bounded run's sink reports a refused insert instead of raising it.

    Raising inside the Bytewax worker panics it, and the embedded engine (chdb) has been seen
    to abort on the way down ("The server is shutting down due to a fatal error"), taking every
    later query of the process with it. So a backtest's sink records the cause, sets `stop`
    (the inputs end as if they had reached their end) and writes nothing more: the run ends
    normally and is recorded as failed with the cause.
    """

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self._lock = threading.Lock()
        self.causes: list[str] = []

    def report(self, cause: str) -> None:
        with self._lock:
            self.causes.append(cause)
        self.stop.set()

    @property
    def cause(self) -> str | None:
        with self._lock:
            return self.causes[0] if self.causes else None


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"writing to ClickHouse failed: {lines[0] if lines else type(error).__name__}"


class _Partition(StatefulSinkPartition[list[Rows], None]):
    """Inserts on a thread of its own, so the worker goes on while ClickHouse writes.

    A failed insert is raised on the worker at its next batch or at the epoch's end (or, with
    `failures`, reported there and the rest dropped: see SinkFailures); at the end of every
    epoch the partition waits until everything handed to it is written, which is what makes
    Bytewax's recovery snapshot a promise that those rows are stored.
    """

    def __init__(self, writer: Writer, name: str, table: str, failures: SinkFailures | None = None):
        self._writer = writer
        self._failures = failures
        self._queue: queue.Queue[list[Rows] | None] = queue.Queue()
        self._waiting = SINK_QUEUE.labels(table)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                if self._error is None:
                    self._writer.write(batch)
            except BaseException as error:  # handed to the worker thread, which raises it
                self._error = error
                if self._failures is not None:
                    self._failures.report(_one_line(error))
            finally:
                self._waiting.dec()
                self._queue.task_done()
        self._queue.task_done()

    def _raise_failure(self) -> None:
        if self._error is not None and self._failures is None:
            raise RuntimeError(_one_line(self._error)) from self._error

    def write_batch(self, items: list[list[Rows]]) -> None:
        self._raise_failure()
        self._waiting.inc()
        self._queue.put([rows for collected in items for rows in collected])

    def snapshot(self) -> None:
        self._queue.join()
        self._raise_failure()

    def close(self) -> None:
        self._queue.join()
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        self._raise_failure()


class ClickHouseSink(FixedPartitionedSink[list[Rows], None]):
    """Writes lists of Rows (as `op.collect` gathers them, keyed by table) to ClickHouse, one
    partition per table, each spread to some worker.

    With `owner=False` this process lists no partition, so Bytewax places every table's
    partition on a worker of the processes that do and routes the rows there over its
    exchange: in a cluster on an embedded ClickHouse (chdb: one engine per data directory per
    process) only the owning process ever opens the database.
    """

    def __init__(
        self,
        dsn: str,
        database: str,
        max_partitions: int = 100,
        failures: SinkFailures | None = None,
        owner: bool = True,
    ):
        self.owner = owner
        self.dsn = dsn
        self.database = database
        self.max_partitions = max_partitions
        self.failures = failures

    def list_parts(self) -> list[str]:
        return sorted(SCHEMAS) if self.owner else []

    def part_fn(self, item_key: str) -> int:
        # The same index in every process (an owner's list), whatever this one lists.
        return sorted(SCHEMAS).index(item_key)

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Partition:
        writer = Writer(
            lambda: connect(self.dsn, self.database), max_partitions=self.max_partitions
        )
        return _Partition(
            writer, name=f"clickhouse-{for_part}", table=for_part, failures=self.failures
        )
