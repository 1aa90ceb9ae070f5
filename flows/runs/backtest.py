"""Backtests: the live graph over a bounded range of a recorded topic, or over a tick file.

A backtest has its own run id, writes the same tables as live trading, and records itself in
`backtest_runs` (status, progress, metrics). Several configs in one run are separate accounts
over the same replay: a parameter sweep costs one pass over the data.

The run id defaults to a hash of what is replayed and with which configs, so running the same
backtest again replaces its rows instead of adding a second copy.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from clickhouse_connect.driver.client import Client

from flows.runs.cluster import ClusterError, run_flow, warm_up
from flows.runs.research import research_reports
from flows.runs.results import AccountResult, BacktestResult, account_results, deflated
from flows.sources.kafka import offsets_for_time
from flows.sources.tick_file import FileFormat, read_ticks
from flows.stages.graph import FlowSpec
from schemas.common import BarFill, RunStatus, wall_clock_ms
from schemas.config import AlgorithmConfig, BacktestRun, ResearchRequest
from schemas.settings import Settings
from sinks.clickhouse.client import connect, migrate
from sinks.clickhouse.sink import SinkFailures
from sinks.store.fingerprint import run_fingerprint
from sinks.store.rows import insert


class BacktestFailedError(RuntimeError):
    """The run stopped; its one-line cause is recorded in `backtest_runs.error`."""

    def __init__(self, run_id: str, cause: str):
        super().__init__(f"backtest {run_id} failed: {cause}")
        self.run_id = run_id
        self.cause = cause


def failure_cause(error: BaseException) -> str:
    """One line saying why a run failed: the sink's own "writing to ClickHouse failed: ..."
    if that is what happened, else the innermost cause with its type. Bytewax re-raises a
    worker's error wrapped in one that only names the step, its text ending in a traceback."""
    chain: list[BaseException] = [error]
    while (inner := chain[-1].__cause__ or chain[-1].__context__) is not None:
        if any(inner is seen for seen in chain):
            break
        chain.append(inner)
    for item in chain:
        for line in str(item).splitlines():
            if "writing to ClickHouse failed" in line:
                return line.strip().removeprefix("RuntimeError: ")[:1000]
    cluster = next((item for item in chain if isinstance(item, ClusterError)), None)
    if cluster is not None:  # which process failed and why, already one line
        return str(cluster)[:1000]
    innermost = chain[-1]
    text = " ".join(str(innermost).split())
    return f"{type(innermost).__name__}: {text}"[:1000]


@dataclass(frozen=True, slots=True)
class Source:
    """What a backtest replays: a topic (of the settings) between two times, or a file."""

    file: Path | None = None
    symbol: str | None = None  # the symbol of a single-symbol file without a symbol column
    store_ticks: bool = False  # copy a file's ticks into market_ticks (a topic's always are)
    adjusted: bool = False  # trade a bar file's adjusted close (Adj Close)
    fill: BarFill = BarFill.CLOSE  # a bar file's orders fill at the close or the next open

    def file_format(self, settings: Settings) -> FileFormat:
        return FileFormat(
            symbol=self.symbol,
            adjusted=self.adjusted,
            exchange_tz=settings.exchange_timezone,
            fill=self.fill,
        )

    from_ts: int | None = None
    to_ts: int | None = None

    def describe(self, settings: Settings) -> str:
        return f"file:{self.file}" if self.file else f"topic:{settings.topics.ticks}"


def check_file(source: Source, settings: Settings) -> None:
    """Refuse a file that cannot be used (`TickFileError`, saying where and why) before anything
    runs. A file checked already and unchanged since (its size and modification time) is not
    read again: the CLI checks before its progress bar shows, then `run_backtest` before it
    registers the run, and reading a file of years of bars takes a noticeable part of a run."""
    if source.file is not None:
        status = source.file.stat()
        _read_once(source.file, (status.st_size, status.st_mtime_ns), source.file_format(settings))


@lru_cache(maxsize=8)
def _read_once(path: Path, stamp: tuple[int, int], form: FileFormat) -> None:
    read_ticks(path, form)  # a refusal raises, and is not remembered


def default_run_id(configs: Sequence[AlgorithmConfig], source: Source, settings: Settings) -> str:
    payload = json.dumps(
        {
            "configs": [c.model_dump(mode="json") for c in configs],
            "source": source.describe(settings),
            "from": source.from_ts,
            "to": source.to_ts,
            **({"adjusted": True} if source.adjusted else {}),
            **({"fill": source.fill.value} if source.fill != BarFill.CLOSE else {}),
        },
        sort_keys=True,
    )
    return "bt-" + hashlib.blake2b(payload.encode(), digest_size=6).hexdigest()


def _record(client: Client, run: BacktestRun, **changes: Any) -> BacktestRun:
    updated = run.model_copy(
        update={**changes, "updated_ts": max(wall_clock_ms(), run.updated_ts + 1)}
    )
    insert(client, [updated])
    return updated


def run_backtest(
    settings: Settings,
    configs: Sequence[AlgorithmConfig],
    source: Source,
    *,
    bootstrap: str | None = None,
    run_id: str | None = None,
    workers: int = 1,
    processes: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    report_dir: Path | None = None,
    research: ResearchRequest | None = None,
) -> BacktestResult:
    """Replay, record, measure. `on_progress(done, total)` is called from a helper thread;
    setting `stop` cancels the replay (the run is recorded as cancelled). With `processes` > 1
    the replay runs as a cluster (flows.runs.cluster) and this process alone opens ClickHouse:
    it registers the run, owns the sink and reads the results."""
    if not configs:
        raise ValueError("a backtest needs at least one algorithm config")
    if len({c.account_id for c in configs}) != len(configs):
        raise ValueError("account ids must be distinct")
    if source.file is None and bootstrap is None:
        raise ValueError("a topic backtest needs the Kafka bootstrap servers")
    warm_up(processes)  # the other processes' start-up overlaps the checks and registration
    check_file(source, settings)
    run_id = run_id or default_run_id(configs, source, settings)
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    first = _new_run(client, run_id, configs, source, settings, research or ResearchRequest())
    progress = _Progress(client, first, on_progress)
    progress.total = _expected_messages(settings, source, bootstrap)
    # The sink ends the inputs through the stop event when ClickHouse refuses an insert; the
    # run is then failed, not cancelled (the cause is checked first).
    failures = SinkFailures(stop if stop is not None else threading.Event())
    spec = _spec(settings, configs, source, bootstrap, run_id, progress, failures.stop)
    spec.sink_failures = failures
    progress.start()
    try:
        run_flow(spec, workers=workers, processes=processes)
    except Exception as error:
        progress.finish()
        _fail(client, progress.run, failure_cause(error), error)
    progress.finish()
    if failures.cause is not None:
        _fail(client, progress.run, failures.cause, None)
    results = deflated(account_results(client, run_id, configs))
    report = ""
    if report_dir is not None:
        from flows.runs.report import write_report

        report = str(write_report(report_dir, run_id, results, source.describe(settings)))
    cancelled = stop is not None and stop.is_set()
    research_error = "" if cancelled else _research(progress.run, results, report_dir)
    run = _finish(client, progress.run, results, report, cancelled, research_error)
    client.close()
    return BacktestResult(run=run, accounts=results)


def _finish(
    client: Client,
    run: BacktestRun,
    results: Sequence[AccountResult],
    report: str,
    cancelled: bool,
    error: str = "",
) -> BacktestRun:
    """Record the finished (or cancelled) run with its metrics, report and fingerprint."""
    metrics = {
        key: value
        for result in results
        for key, value in result.metrics.flat(result.account_id).items()
    }
    return _record(
        client,
        run,
        status=RunStatus.CANCELLED if cancelled else RunStatus.COMPLETED,
        progress=1.0 if not cancelled else run.progress,
        metrics=metrics,
        report_path=report,
        fingerprint=run_fingerprint(client, run.run_id),
        error=error,
    )


def _research(run: BacktestRun, results: list[AccountResult], report_dir: Path | None) -> str:
    """The research the run was launched with (POST /backtests), its page written before the
    run is recorded as completed. Data too short for the walk-forward's windows leaves the run
    completed with the reason as its `error`."""
    wanted = run.research
    if report_dir is None or (wanted.walk_forward is None and not wanted.monte_carlo):
        return ""
    try:
        research_reports(BacktestResult(run, results), run.configs(), wanted, report_dir)
    except ValueError as error:
        return f"research: walk-forward not possible: {error}"[:1000]
    return ""


def _fail(client: Client, run: BacktestRun, cause: str, error: BaseException | None) -> NoReturn:
    _record(client, run, status=RunStatus.FAILED, error=cause)
    client.close()
    raise BacktestFailedError(run.run_id, cause) from error


def _new_run(
    client: Client,
    run_id: str,
    configs: Sequence[AlgorithmConfig],
    source: Source,
    settings: Settings,
    research: ResearchRequest,
) -> BacktestRun:
    """The run's first row: running, nothing read yet."""
    created = wall_clock_ms()
    run = BacktestRun(
        run_id=run_id,
        status=RunStatus.RUNNING,
        progress=0.0,
        source=source.describe(settings),
        from_ts=source.from_ts,
        to_ts=source.to_ts,
        accounts=[c.account_id for c in configs],
        configs_json=BacktestRun.dump_configs(configs),
        research=research,
        created_ts=created,
        updated_ts=created,
    )
    insert(client, [run])
    return run


def _spec(
    settings: Settings,
    configs: Sequence[AlgorithmConfig],
    source: Source,
    bootstrap: str | None,
    run_id: str,
    progress: _Progress,
    stop: threading.Event | None,
) -> FlowSpec:
    """The graph over the file, or over the topic from the offsets of `source.from_ts` on."""
    spec = FlowSpec(
        run_id=run_id,
        settings=_gathering_longer(settings),
        configs=list(configs),
        bootstrap=None if source.file else bootstrap,
        bounded=True,
        start_offsets=None,
        from_ts=source.from_ts,
        to_ts=source.to_ts,
        tick_file=source.file,
        file_format=source.file_format(settings),
        read_control=False,
        write_kafka=False,
        progress=progress.count,
        stop=stop,
        store_ticks=source.file is None or source.store_ticks,
    )
    if source.file is None and bootstrap is not None and source.from_ts is not None:
        spec.start_offsets = offsets_for_time(bootstrap, settings.topics.ticks, source.from_ts)
        if spec.option_quotes:
            spec.option_start_offsets = offsets_for_time(
                bootstrap, settings.topics.options, source.from_ts
            )
    return spec


# A bounded run's rows are read only once it has ended, so they gather longer before a write
# than live rows do (at most this long, or this many batches per table): a chdb insert costs
# about a tenth of a second whatever its size (a temporary file, a part, merging it), and one
# write a second per table was a quarter of the CPU of a signal-dense 200,000-bar run.
BACKTEST_SINK_SECONDS = 30.0
BACKTEST_SINK_BATCHES = 1024


def _gathering_longer(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "sink_max_seconds": max(settings.sink_max_seconds, BACKTEST_SINK_SECONDS),
            "sink_max_batches": max(settings.sink_max_batches, BACKTEST_SINK_BATCHES),
        }
    )


class _Progress:
    """Counts the messages the replay reads and, once a second from a thread of its own, tells
    the caller and records the fraction done in `backtest_runs`."""

    def __init__(
        self,
        client: Client,
        run: BacktestRun,
        on_progress: Callable[[int, int], None] | None,
    ):
        self.client = client
        self.run = run
        self.done = 0
        self.total = 0
        self._on_progress = on_progress
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._report, name="backtest-progress", daemon=True)

    def count(self, messages: int) -> None:
        self.done += messages

    def start(self) -> None:
        self._thread.start()

    def _report(self) -> None:
        while not self._finished.wait(1.0):
            if self._on_progress is not None:
                self._on_progress(self.done, self.total)
            fraction = min(self.done / self.total, 0.99) if self.total else 0.0
            self.run = _record(self.client, self.run, progress=fraction, ticks=self.done)

    def finish(self) -> None:
        """Stop reporting; the run's row then carries the final count."""
        self._finished.set()
        self._thread.join()
        self.run = self.run.model_copy(update={"ticks": self.done})
        if self._on_progress is not None:
            self._on_progress(self.done, self.total or self.done)


def _expected_messages(settings: Settings, source: Source, bootstrap: str | None) -> int:
    """Roughly how many messages the replay reads, for progress; 0 when unknown."""
    if source.file is not None:
        try:
            import pyarrow.parquet as pq

            if source.file.suffix.lower() in (".parquet", ".pq"):
                return int(pq.ParquetFile(source.file).metadata.num_rows)
            with source.file.open("rb") as handle:
                return max(sum(1 for _ in handle) - 1, 0)
        except OSError:
            return 0
    if bootstrap is None:
        return 0
    from confluent_kafka import Consumer, TopicPartition

    from sinks.kafka.admin import topic_partitions

    topic = settings.topics.ticks
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strikeflow-progress"})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(topic_partitions(bootstrap, topic))
        )
    finally:
        consumer.close()
