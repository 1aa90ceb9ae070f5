"""Backtests launched through the API: replay jobs on a small pool of background threads.

Each job is `flows.backtest.run_backtest` with a stop event. The job is recorded in
`backtest_runs` as pending before it is queued, so a GET right after the POST finds it;
`run_backtest` then records it as running, with its progress every second, and as completed,
failed or cancelled. At most `parallel` jobs replay at once (the live flow shares the cores);
the others wait, pending, and a pending job that is cancelled never starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from flows.backtest import CONFIGS, Source, run_backtest
from schemas.common import RunStatus
from schemas.config import AlgorithmConfig, BacktestRun
from schemas.db import connect
from schemas.settings import Settings
from sinks.store import backtest_run, insert

log = logging.getLogger(__name__)

FINISHED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class JobConflictError(RuntimeError):
    """The run is already queued or replaying in this server, or no longer can be cancelled."""


@dataclass(eq=False)
class Job:
    run_id: str
    record: BacktestRun
    stop: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    finished: bool = False


def _now_ms() -> int:
    return time.time_ns() // 1_000_000  # wall-clock ok: when a job was queued, not trading logic


class BacktestJobs:
    def __init__(self, settings: Settings, bootstrap: str | None, parallel: int = 1):
        self._settings = settings
        self._bootstrap = bootstrap
        self._parallel = parallel
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._client: Client | None = None

    def open(self) -> None:
        self._client = connect(self._settings.dsn, self._settings.clickhouse_database)
        self._pool = ThreadPoolExecutor(self._parallel, thread_name_prefix="backtest")

    def close(self) -> None:
        """Cancel every job and wait for the running ones to record themselves."""
        with self._lock:
            for job in self._jobs.values():
                job.stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the backtest jobs are not open")
        return self._client

    def launch(
        self, configs: Sequence[AlgorithmConfig], source: Source, run_id: str, workers: int
    ) -> BacktestRun:
        if self._pool is None:
            raise RuntimeError("the backtest jobs are not open")
        now = _now_ms()
        record = BacktestRun(
            run_id=run_id,
            status=RunStatus.PENDING,
            progress=0.0,
            source=source.describe(self._settings),
            from_ts=source.from_ts,
            to_ts=source.to_ts,
            accounts=[config.account_id for config in configs],
            configs_json=CONFIGS.dump_json(list(configs)).decode(),
            created_ts=now,
            updated_ts=now,
        )
        with self._lock:
            known = self._jobs.get(run_id)
            if known is not None and not known.finished:
                raise JobConflictError(f"backtest {run_id} is already queued or running")
            job = Job(run_id, record)
            self._jobs[run_id] = job
            insert(self.client, [record])
        self._pool.submit(self._run, job, list(configs), source, workers)
        return record

    def cancel(self, run_id: str) -> BacktestRun:
        """Stop a queued or running job; a queued one is recorded as cancelled at once."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None or job.finished:
                raise JobConflictError(f"backtest {run_id} is not queued or running in this server")
            job.stop.set()
            if job.started:
                return backtest_run(self.client, run_id) or job.record
            job.finished = True
            return self._record_cancelled(job)

    def _record_cancelled(self, job: Job) -> BacktestRun:
        cancelled = job.record.model_copy(
            update={
                "status": RunStatus.CANCELLED,
                "updated_ts": max(_now_ms(), job.record.updated_ts + 1),
            }
        )
        insert(self.client, [cancelled])
        return cancelled

    def _run(self, job: Job, configs: list[AlgorithmConfig], source: Source, workers: int) -> None:
        with self._lock:
            if job.finished:  # cancelled while it waited
                return
            if job.stop.is_set():  # the server is shutting down: it never starts
                job.finished = True
                self._record_cancelled(job)
                return
            job.started = True
        try:
            run_backtest(
                self._settings,
                configs,
                source,
                bootstrap=self._bootstrap,
                run_id=job.run_id,
                workers=workers,
                stop=job.stop,
                report_dir=self._settings.data_dir / "reports",
            )
        except Exception as error:
            log.exception("backtest %s failed", job.run_id)
            self._record_failure(job, error)
        finally:
            with self._lock:
                job.finished = True

    def _record_failure(self, job: Job, error: Exception) -> None:
        """`run_backtest` records failures of the replay itself; this covers the rest."""
        current = backtest_run(self.client, job.run_id) or job.record
        if current.status in FINISHED:
            return
        failed = current.model_copy(
            update={
                "status": RunStatus.FAILED,
                "error": str(error)[:1000],
                "updated_ts": max(_now_ms(), current.updated_ts + 1),
            }
        )
        insert(self.client, [failed])
