"""Backtests launched through the API: replay jobs on a small pool of background threads.

Each job is `flows.runs.backtest.run_backtest` with a stop event. The job is recorded in
`backtest_runs` as pending before it is queued, so a GET right after the POST finds it;
`run_backtest` then records it as running, with its progress every second, and as completed,
failed or cancelled. At most `parallel` jobs replay at once (the live flow shares the cores);
the others wait, pending, and a pending job that is cancelled never starts.

What the API shows of a run passes `redacted`: no absolute path of the server (a path inside
the data directory is shown relative to it, any other by its name) and no Rust source
location. A failed job records the cause of its failure, not the engine's wrapper around it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from clickhouse_connect.driver.client import Client

from flows.runs.backtest import BacktestFailedError, Source, run_backtest
from schemas.common import RunStatus, wall_clock_ms
from schemas.config import AlgorithmConfig, BacktestRun, ResearchRequest
from schemas.settings import Settings
from sinks.clickhouse.client import connect
from sinks.store.rows import insert
from sinks.store.runs import backtest_run

log = logging.getLogger(__name__)

FINISHED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})
# Bytewax prefixes its errors with where in its Rust code they were raised: "(src/x.rs:1:2): ".
_RUST_LOCATION = re.compile(r"\(?\b[\w./-]+\.rs:\d+:\d+\)?:?\s*")
# An absolute path: a slash that starts a word (not a URL's "//", not inside "a/b").
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/-])/(?!/)[^\s'\"`(),;]+")


def redacted(text: str, data_dir: Path) -> str:
    """`text` without Rust source locations or absolute server paths: one inside `data_dir`
    becomes relative to it, any other is shown by its last part (".../name")."""
    root = str(data_dir.resolve())

    def shorten(found: re.Match[str]) -> str:
        path = found.group(0)
        if path == root:
            return "."
        if path.startswith(root + "/"):
            return path[len(root) + 1 :]
        return ".../" + PurePosixPath(path).name

    return _ABSOLUTE_PATH.sub(shorten, _RUST_LOCATION.sub("", text))


def shown(run: BacktestRun, data_dir: Path) -> BacktestRun:
    """The run as the API shows it: its source, report and error `redacted`."""
    return run.model_copy(
        update={
            "source": redacted(run.source, data_dir),
            "report_path": redacted(run.report_path, data_dir),
            "error": redacted(run.error, data_dir),
        }
    )


def failure_message(error: BaseException) -> str:
    """The innermost cause of `error` (what went wrong, not who passed it on), with its type:
    Bytewax wraps an input's exception in one that only says which step failed."""
    seen = {id(error)}
    cause = error
    while (inner := cause.__cause__ or cause.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        cause = inner
    return f"{type(cause).__name__}: {cause}"


class JobConflictError(RuntimeError):
    """The run is already queued or replaying in this server, or no longer can be cancelled."""


@dataclass(eq=False)
class Job:
    run_id: str
    record: BacktestRun
    stop: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    finished: bool = False


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
        self,
        configs: Sequence[AlgorithmConfig],
        source: Source,
        run_id: str,
        workers: int,
        research: ResearchRequest | None = None,
    ) -> BacktestRun:
        if self._pool is None:
            raise RuntimeError("the backtest jobs are not open")
        now = wall_clock_ms()
        record = BacktestRun(
            run_id=run_id,
            status=RunStatus.PENDING,
            progress=0.0,
            source=source.describe(self._settings),
            from_ts=source.from_ts,
            to_ts=source.to_ts,
            accounts=[config.account_id for config in configs],
            configs_json=BacktestRun.dump_configs(configs),
            research=research or ResearchRequest(),
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
                "updated_ts": max(wall_clock_ms(), job.record.updated_ts + 1),
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
                research=job.record.research,
            )
        except Exception as error:
            log.exception("backtest %s failed", job.run_id)
            self._record_failure(job, error)
        finally:
            with self._lock:
                job.finished = True

    def _record_failure(self, job: Job, error: Exception) -> None:
        """`run_backtest` records a failure of the replay with the outermost message, which
        is Bytewax's wrapper; this records the cause instead, and covers failures before the
        replay recorded anything."""
        current = backtest_run(self.client, job.run_id) or job.record
        message = error.cause if isinstance(error, BacktestFailedError) else failure_message(error)
        if current.status in (RunStatus.COMPLETED, RunStatus.CANCELLED):
            return
        failed = current.model_copy(
            update={
                "status": RunStatus.FAILED,
                "error": message[:1000],
                "updated_ts": max(wall_clock_ms(), current.updated_ts + 1),
            }
        )
        insert(self.client, [failed])
