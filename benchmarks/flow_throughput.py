"""Benchmark: end-to-end replay throughput of the flow (topic or file -> flow -> ClickHouse).

Run from the repository root:

    .venv/bin/python benchmarks/flow_throughput.py             # Markdown section
    .venv/bin/python benchmarks/flow_throughput.py --profile   # + cProfile of one Kafka run

What it does, in one process (chdb allows one on-disk engine path per process, so every run
shares one fresh temporary ClickHouse path and gets its own run id):
- simulates one session of one symbol (AAPL) and keeps its first `--ticks` ticks;
- starts the bundled broker (Tansu, in memory), creates the topics with 2 tick partitions and
  produces the ticks once with flows.sim.feed.TickWriter (heartbeats every 1000 ms of event time to
  both partitions); writes the same ticks to a Parquet file;
- measures the broker alone (one confluent-kafka consumer reading the whole topic), the flow's
  Kafka source alone, and the source plus decoding, single-threaded, without Bytewax;
- times `flows.runs.backtest.run_backtest` (the whole call: migrations, the Bytewax run, the
  ClickHouse writes, the run's record and its metrics) over the topic with 1 and 2 workers and
  over the Parquet file with 1 and 2 workers, interleaved, each run with a fresh run id;
- as a contrast, the same number of ticks split over two symbols that live on different
  partitions (AAPL on 0, MSFT on 1), with 1 and 2 workers.
Strategy: moving-average cross on the mid, fast SMA 50 ticks, slow SMA 200 ticks, trading 100
shares of the underlying, default costs and limits. Every figure is the median of `--runs`
runs after a warm-up run (imports, table creation).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import math
import os
import platform
import pstats
import shutil
import site
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from confluent_kafka import Consumer, KafkaError, TopicPartition

from api.runtime.broker import EmbeddedBroker
from flows.runs.backtest import Source, run_backtest
from flows.sim.feed import TickWriter, partition_of
from flows.sim.simulator import SimParams, simulate_session
from flows.sources.decode import decode_ticks
from flows.stages.inputs import BatchKafkaSource
from flows.trading.ticks import TickColumns
from schemas.config import AlgorithmConfig, MovingAverageCross
from schemas.settings import Settings, Topics
from schemas.tables import TABLE_MODELS, column_names, table_of
from sinks.clickhouse.client import connect
from sinks.kafka.admin import ensure_topics, producer, topic_partitions

DAY = date(2026, 11, 23)  # a Monday
FAST, SLOW = 50, 200
TICK_PARTITIONS = 2
KAFKA_TARGET = 150_000  # ticks/s per worker, Kafka -> ClickHouse (DESIGN.md, 'Speed shape')
FILE_TARGET = 1_000_000  # ticks/s per worker replaying a file
COMMAND = ".venv/bin/python benchmarks/flow_throughput.py"
REPO = Path(__file__).resolve().parent.parent


# --- shared with the other flow benchmarks ----------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan


def code_version() -> str:
    """The commit measured, and whether the code under test had local changes."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    changed = git("status", "--porcelain", "--", "flows", "sinks", "schemas", "api")
    return f"commit {commit}" + (" with uncommitted changes" if changed else "")


def machine_line() -> str:
    from importlib.metadata import version

    return (
        f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, bytewax {version('bytewax')}, chdb {version('chdb')}, "
        f"confluent-kafka {version('confluent-kafka')}; code: {code_version()}"
    )


def tick_series(n: int, symbols: Sequence[str] = ("AAPL",)) -> TickColumns:
    """The first `n` ticks of one simulated session of `symbols` (deterministic)."""
    rate = n / len(symbols) / 390 * 1.05
    while True:
        ticks, _ = simulate_session(list(symbols), DAY, SimParams(ticks_per_minute=rate))
        if len(ticks) >= n:
            break
        rate *= 1.05
    cut = slice(0, n)
    return TickColumns(
        ts=ticks.ts[cut],
        codes=ticks.codes[cut],
        symbols=ticks.symbols,
        bid=ticks.bid[cut],
        ask=ticks.ask[cut],
        last=ticks.last[cut],
        volume=ticks.volume[cut],
    )


def write_parquet(ticks: TickColumns, path: Path) -> None:
    names = np.asarray(ticks.symbols, dtype=object)[ticks.codes]
    table = pa.table(
        {
            "timestamp": ticks.ts,
            "symbol": pa.array(names.tolist(), type=pa.string()),
            "bid": ticks.bid,
            "ask": ticks.ask,
            "last": ticks.last,
            "volume": ticks.volume,
        }
    )
    pq.write_table(table, path)


def produce(
    bootstrap: str, topic: str, ticks: TickColumns, heartbeat_ms: int = 1000
) -> tuple[int, int, float]:
    """Write the ticks (and heartbeats) to `topic`: (ticks, heartbeats, seconds)."""
    writer = TickWriter(
        producer(bootstrap), topic, topic_partitions(bootstrap, topic), heartbeat_ms=heartbeat_ms
    )
    start = time.perf_counter()
    for begin in range(0, len(ticks), 100_000):
        part = slice(begin, begin + 100_000)
        writer.write_ticks(ticks, part)
    stats = writer.finish()
    seconds = time.perf_counter() - start
    del writer
    gc.collect()  # the producer goes before anything else touches the broker
    return stats.ticks, stats.heartbeats, seconds


def ma_config(symbols: Sequence[str], account_id: str = "bench-ma") -> AlgorithmConfig:
    return AlgorithmConfig(
        account_id=account_id,
        name=f"ma_cross({FAST},{SLOW})",
        symbols=list(symbols),
        strategy=MovingAverageCross(fast=FAST, slow=SLOW),
    )


@contextmanager
def bench_settings(prefix: str) -> Iterator[Settings]:
    """Settings over a fresh temporary directory: chdb at <dir>/clickhouse, 2 tick partitions."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield Settings(
            data_dir=root,
            clickhouse_dsn=f"chdb://{root / 'clickhouse'}",
            ticks_partitions=TICK_PARTITIONS,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def rows_written(settings: Settings, run_id: str) -> dict[str, int]:
    """Rows of each table carrying `run_id`, as inserted (before any replacing merge)."""
    client = connect(settings.dsn, settings.clickhouse_database)
    try:
        counts = {}
        for model in TABLE_MODELS:
            if "run_id" not in column_names(model):
                continue
            table = table_of(model)
            result = client.query(
                f"SELECT count() FROM `{table}` WHERE run_id = {{run:String}}",
                parameters={"run": run_id},
            )
            counts[table] = int(result.result_rows[0][0])
        return counts
    finally:
        client.close()


def fills_digest(settings: Settings, run_id: str) -> tuple[int, str]:
    """(fill count, a hash of every fill's ts, side, quantity and price) of a run."""
    client = connect(settings.dsn, settings.clickhouse_database)
    try:
        rows = client.query(
            "SELECT ts, side, quantity, price FROM paper_fills FINAL "
            "WHERE run_id = {run:String} ORDER BY ts, side, quantity, price",
            parameters={"run": run_id},
        ).result_rows
    finally:
        client.close()
    text = "\n".join(f"{ts.isoformat()} {side} {qty} {price:.6f}" for ts, side, qty, price in rows)
    return len(rows), hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "n/a"


def short_path(text: str) -> str:
    """Trim the repository and site-packages prefixes from profile lines."""
    for prefix in [*site.getsitepackages(), str(REPO)]:
        text = text.replace(prefix.rstrip("/") + "/", "")
    return text


def profile_text(profile: cProfile.Profile, cumulative: int = 30, own: int = 20) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(cumulative)
    stats.sort_stats("tottime").print_stats(own)
    lines = [short_path(line.rstrip()) for line in out.getvalue().splitlines()]
    return "\n".join(line for line in lines if line.strip())


# --- measurements -----------------------------------------------------------------------------


def consume_all(bootstrap: str, topic: str, batch: int = 5000) -> tuple[int, float]:
    """One confluent-kafka consumer reads every partition of `topic` to its end."""
    partitions = topic_partitions(bootstrap, topic)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-broker-alone",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 5,
            "queued.min.messages": 100_000,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    done: set[int] = set()
    count = 0
    start = time.perf_counter()
    while len(done) < partitions:
        for message in consumer.consume(batch, 0.1):
            error = message.error()
            if error is None:
                count += 1
            elif error.code() == KafkaError._PARTITION_EOF:
                done.add(message.partition() or 0)
    seconds = time.perf_counter() - start
    consumer.close()
    return count, seconds


def source_alone(bootstrap: str, topic: str, decode: bool, batch_size: int) -> tuple[int, float]:
    """The flow's Kafka source (and decoding) over every partition, one after the other, with
    no Bytewax: the ceiling of one worker thread."""
    source = BatchKafkaSource(bootstrap, topic, bounded=True, batch_size=batch_size)
    count = 0
    start = time.perf_counter()
    for part in source.list_parts():
        partition = source.build_part("ticks", part, None)
        known: set[str] = set()
        try:
            while True:
                for raw in partition.next_batch():
                    count += len(raw.values)
                    if decode:
                        decode_ticks(raw, known)
        except StopIteration:
            pass
        finally:
            partition.close()
    return count, time.perf_counter() - start


@dataclass
class Case:
    name: str
    settings: Settings
    source: Source
    bootstrap: str | None
    workers: int
    symbols: tuple[str, ...]
    ticks: int
    messages: int
    target: float
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    fills: set[tuple[int, str]] = field(default_factory=set)
    trades: float = math.nan


def run_case(case: Case, tag: str, profile: cProfile.Profile | None = None) -> float:
    run_id = f"bench-{case.name}-{tag}".replace(" ", "-").replace(",", "")[:64]
    config = ma_config(case.symbols)
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    result = run_backtest(
        case.settings,
        [config],
        case.source,
        bootstrap=case.bootstrap,
        run_id=run_id,
        workers=case.workers,
    )
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    gc.collect()  # the flow's Kafka clients
    if profile is None:
        case.seconds.append(seconds)
        case.cpu.append(cpu)
        case.rows = rows_written(case.settings, run_id)
        case.fills.add(fills_digest(case.settings, run_id))
        case.trades = result.accounts[0].metrics.get("trade_count", math.nan)
        if result.run.ticks != case.messages:
            raise RuntimeError(f"{case.name}: read {result.run.ticks} messages of {case.messages}")
    return seconds


def timed_many(body: Callable[[], tuple[int, float]], runs: int) -> tuple[int, list[float]]:
    body()  # warm-up
    results = [body() for _ in range(runs)]
    return results[0][0], [seconds for _, seconds in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one Kafka 1-worker run")
    parser.add_argument("--no-two-symbols", action="store_true", help="skip the contrast case")
    parser.add_argument(
        "--cases",
        default="kafka:1,kafka:2,file:1,file:2,kafka-2sym:1,kafka-2sym:2",
        help="which replays to time, as name:workers (e.g. kafka:1 for a profiler)",
    )
    args = parser.parse_args()
    n, runs = args.ticks, args.runs
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    one = tick_series(n)
    two = tick_series(n, ("AAPL", "MSFT"))
    assert partition_of("AAPL", TICK_PARTITIONS) != partition_of("MSFT", TICK_PARTITIONS)
    notes: list[str] = []
    with bench_settings("strikeflow-bench-flow-") as settings:
        root = settings.data_dir
        two_settings = settings.model_copy(update={"topics": Topics(ticks="bench.ticks.two")})
        broker = EmbeddedBroker(log_path=root / "broker.log")
        bootstrap = broker.start(settings.topics.partitions(TICK_PARTITIONS))
        try:
            ensure_topics(bootstrap, {two_settings.topics.ticks: TICK_PARTITIONS})
            produced, beats, produce_s = produce(bootstrap, settings.topics.ticks, one)
            messages = produced + beats * TICK_PARTITIONS
            produced2, beats2, _ = produce(bootstrap, two_settings.topics.ticks, two)
            messages2 = produced2 + beats2 * TICK_PARTITIONS
            file = root / "ticks.parquet"
            write_parquet(one, file)
            warm = root / "warm.parquet"
            write_parquet(tick_series(20_000), warm)

            # Warm-up: imports, migrations, the first chdb inserts.
            run_backtest(settings, [ma_config(["AAPL"])], Source(file=warm), run_id="bench-warm")

            topic = settings.topics.ticks
            consumed, broker_s = timed_many(lambda: consume_all(bootstrap, topic), runs)
            source_n, source_s = timed_many(
                lambda: source_alone(bootstrap, topic, False, settings.batch_size), runs
            )
            decode_n, decode_s = timed_many(
                lambda: source_alone(bootstrap, topic, True, settings.batch_size), runs
            )

            cases = [
                Case(
                    "kafka", settings, Source(), bootstrap, 1, ("AAPL",), n, messages, KAFKA_TARGET
                ),
                Case(
                    "kafka", settings, Source(), bootstrap, 2, ("AAPL",), n, messages, KAFKA_TARGET
                ),
                Case("file", settings, Source(file=file), None, 1, ("AAPL",), n, n, FILE_TARGET),
                Case("file", settings, Source(file=file), None, 2, ("AAPL",), n, n, FILE_TARGET),
            ]
            if not args.no_two_symbols:
                for workers in (1, 2):
                    cases.append(
                        Case(
                            "kafka-2sym",
                            two_settings,
                            Source(),
                            bootstrap,
                            workers,
                            ("AAPL", "MSFT"),
                            n,
                            messages2,
                            KAFKA_TARGET,
                        )
                    )
            wanted = set(args.cases.split(","))
            cases = [case for case in cases if f"{case.name}:{case.workers}" in wanted]
            for rep in range(runs):
                for case in cases:
                    run_case(case, f"w{case.workers}-r{rep}")

            profile_out = ""
            if args.profile:
                profile = cProfile.Profile()
                profiled = Case(
                    "kafka-prof", settings, Source(), bootstrap, 1, ("AAPL",), n, messages, 0
                )
                wall = run_case(profiled, "w1", profile)
                profile_out = (
                    f"cProfile of one more Kafka -> ClickHouse run, 1 worker ({wall:.1f} s under "
                    "the profiler):\n\n```text\n" + profile_text(profile) + "\n```\n"
                )
        finally:
            gc.collect()
            broker.stop()
    load_after = load_average()

    # --- report -------------------------------------------------------------------------------
    broker_rate = consumed / median(broker_s)
    print("## Flow throughput\n")
    print("Command (from the repository root):\n")
    print(f"```\n{COMMAND}{' --profile' if args.profile else ''}\n```\n")
    print(
        f"Machine: {machine_line()}. Run started {started}; 1-minute load average "
        f"{load_before:.2f} before and {load_after:.2f} after (2 cores; anything above 0 is "
        "other work competing). Broker: the bundled Tansu, memory storage, on loopback. "
        f"ClickHouse: chdb on local disk. Medians of {runs} runs after a warm-up run; runs of "
        "the cases are interleaved.\n"
    )
    print(
        f"Input: {n:,} ticks of one symbol (AAPL), one simulated session ({DAY}), produced "
        f"once to `{settings.topics.ticks}` with {TICK_PARTITIONS} partitions and heartbeats "
        f"every 1000 ms of event time ({beats:,} per partition: {messages:,} messages), and "
        "written to a Parquet file. Strategy: `ma_cross` on the mid, fast SMA "
        f"{FAST} ticks, slow SMA {SLOW} ticks, 100 shares of the underlying, default costs and "
        f"risk limits (one account); round trips per run: {one_or_many(cases[0].trades)}.\n"
    )
    print("| measurement | messages | median time | messages/s (median) | best run |")
    print("|---|---:|---:|---:|---:|")
    for name, count, seconds in (
        ("broker alone: one confluent-kafka consumer, both partitions", consumed, broker_s),
        ("flow's Kafka source alone (BatchKafkaSource, no Bytewax)", source_n, source_s),
        ("… plus decode_ticks (Arrow JSON -> columns)", decode_n, decode_s),
    ):
        print(
            f"| {name} | {count:,} | {median(seconds):.2f} s | "
            f"{fmt_rate(count / median(seconds))} | {fmt_rate(count / min(seconds))} |"
        )
    print(
        f"\nProducing the topic (TickWriter, one producer, JSON): {produced:,} ticks + "
        f"{beats * TICK_PARTITIONS:,} heartbeats in {produce_s:.2f} s "
        f"({fmt_rate(messages / produce_s)} messages/s, one run).\n"
    )
    print(
        "| replay | workers | ticks | median time | ticks/s (median) | ticks/s (best) "
        "| ticks/s per worker | target per worker | of target | CPU s / wall s | rows written |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    medians: dict[tuple[str, int], float] = {}
    for case in cases:
        seconds = median(case.seconds)
        rate = case.ticks / seconds
        medians[(case.name, case.workers)] = rate
        per_worker = rate / case.workers
        label = {
            "kafka": "topic -> flow -> ClickHouse",
            "file": "Parquet file -> flow -> ClickHouse",
            "kafka-2sym": "topic, 2 symbols on 2 partitions (contrast)",
        }[case.name]
        print(
            f"| {label} | {case.workers} | {case.ticks:,} | {seconds:.2f} s | {fmt_rate(rate)} "
            f"| {fmt_rate(case.ticks / min(case.seconds))} | {fmt_rate(per_worker)} "
            f"| {case.target:,.0f} | {per_worker / case.target:.0%} "
            f"| {median(case.cpu) / seconds:.2f} | {sum(case.rows.values()):,} |"
        )
    print("\nRatios of medians:\n")
    print("| ratio | value |")
    print("|---|---:|")
    nan = math.nan
    k1, k2 = medians.get(("kafka", 1), nan), medians.get(("kafka", 2), nan)
    f1, f2 = medians.get(("file", 1), nan), medians.get(("file", 2), nan)
    s1, s2 = medians.get(("kafka-2sym", 1), nan), medians.get(("kafka-2sym", 2), nan)
    ratios = [
        ("topic replay, 2 workers / 1 worker", k2 / k1),
        ("file replay, 2 workers / 1 worker", f2 / f1),
        ("file replay / topic replay (1 worker)", f1 / k1),
        ("topic replay (1 worker) / broker alone", k1 / broker_rate),
        ("2 symbols on 2 partitions, 2 workers / 1 worker", s2 / s1),
    ]
    ratios = [(name, value) for name, value in ratios if math.isfinite(value)]
    for name, value in ratios:
        print(f"| {name} | {value:.2f}× |")
    print("\nRows written per run (count by table for the run id, as inserted):\n")
    tables = sorted({t for case in cases for t in case.rows})
    print("| replay | workers | " + " | ".join(tables) + " |")
    print("|---|---:|" + "---:|" * len(tables))
    for case in cases:
        print(
            f"| {case.name} | {case.workers} | "
            + " | ".join(f"{case.rows.get(t, 0):,}" for t in tables)
            + " |"
        )
    digests = {d for case in cases if case.name in ("kafka", "file") for d in case.fills}
    if digests:
        notes.append(
            "Fills (ts, side, quantity, price) of every one-symbol run, topic or file, 1 or 2 "
            + (
                f"workers: identical ({next(iter(digests))[0]:,} fills)."
                if len(digests) == 1
                else f"NOT identical across runs: {sorted(digests)}."
            )
        )
    two_digests = {d for case in cases if case.name == "kafka-2sym" for d in case.fills}
    if two_digests:
        notes.append(
            "Two-symbol runs, 1 vs 2 workers: "
            + ("identical fills." if len(two_digests) == 1 else f"different fills {two_digests}.")
        )
    for note in notes:
        print(f"\n{note}")
    if profile_out:
        print()
        print(profile_out)


def one_or_many(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:,.0f}"


if __name__ == "__main__":
    main()
