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
  ClickHouse writes, the run's record and its metrics) over the topic and over the Parquet
  file with 1 worker, 2 workers (threads of one process) and 2 processes of 1 worker
  (flows.runs.cluster: this process owns chdb, the second is spawned, rows cross Bytewax's
  exchange), interleaved; each variant writes to its own database and repeat r of every
  variant has the run id `bench-<case>-r<r>`, so the run fingerprints (sinks.store.fingerprint)
  of 1 worker, 2 workers and 2 processes are compared one to one;
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
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from broker_alone import consume_all, source_alone
from common import (
    DAY,
    FAST,
    SLOW,
    TICK_PARTITIONS,
    bench_settings,
    fills_digest,
    fmt_rate,
    load_average,
    ma_config,
    machine_line,
    median,
    produce,
    profile_text,
    rows_written,
    tick_series,
    write_parquet,
)

from api.runtime.broker import EmbeddedBroker
from flows.runs.backtest import Source, run_backtest
from flows.sim.feed import partition_of
from schemas.settings import Settings, Topics
from sinks.kafka.admin import ensure_topics

KAFKA_TARGET = 150_000  # ticks/s per worker, Kafka -> ClickHouse (DESIGN.md, 'Speed shape')
FILE_TARGET = 1_000_000  # ticks/s per worker replaying a file
COMMAND = ".venv/bin/python benchmarks/flow_throughput.py"


# --- measurements -----------------------------------------------------------------------------


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
    processes: int = 1
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    fills: set[tuple[int, str]] = field(default_factory=set)
    trades: float = math.nan
    fingerprints: dict[str, str] = field(default_factory=dict)  # by run id

    @property
    def variant(self) -> str:
        """'1', '2' (workers) or '1x2p' (1 worker in each of 2 processes)."""
        return f"{self.workers}" if self.processes == 1 else f"{self.workers}x{self.processes}p"

    @property
    def parallel(self) -> str:
        if self.processes == 1:
            return f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        return f"{self.processes} processes × {self.workers}"

    @property
    def threads(self) -> int:
        return self.workers * self.processes


def run_case(case: Case, tag: str, profile: cProfile.Profile | None = None) -> float:
    run_id = f"bench-{case.name}-{tag}".replace(" ", "-").replace(",", "")[:64]
    config = ma_config(case.symbols)
    # Its own database per variant: the same run id in each, so fingerprints compare.
    database = f"bench_{case.name}_{case.variant}".replace("-", "_")
    settings = case.settings.model_copy(update={"clickhouse_database": database})
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    result = run_backtest(
        settings,
        [config],
        case.source,
        bootstrap=case.bootstrap,
        run_id=run_id,
        workers=case.workers,
        processes=case.processes,
    )
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    gc.collect()  # the flow's Kafka clients
    if profile is None:
        case.seconds.append(seconds)
        case.cpu.append(cpu)
        case.rows = rows_written(settings, run_id)
        case.fills.add(fills_digest(settings, run_id))
        case.fingerprints[run_id] = result.run.fingerprint
        case.trades = result.accounts[0].metrics.trade_count
        if result.run.ticks != case.messages:
            raise RuntimeError(f"{case.name}: read {result.run.ticks} messages of {case.messages}")
    return seconds


def timed_many(body: Callable[[], tuple[int, float]], runs: int) -> tuple[int, list[float]]:
    body()  # warm-up
    results = [body() for _ in range(runs)]
    return results[0][0], [seconds for _, seconds in results]


LABELS = {
    "kafka": "topic -> flow -> ClickHouse",
    "file": "Parquet file -> flow -> ClickHouse",
    "kafka-2sym": "topic, 2 symbols on 2 partitions (contrast)",
}


@dataclass
class Inputs:
    """What was produced once and replayed by every case."""

    ticks: int
    produced: int
    beats: int
    produce_s: float
    messages: int
    messages2: int
    file: Path


@dataclass
class Alone:
    """The broker, the source and the source plus decoding, each without Bytewax."""

    consumed: int
    broker_s: list[float]
    source_n: int
    source_s: list[float]
    decode_n: int
    decode_s: list[float]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="messages or file rows per input batch (default: the settings' batch_size, 5000)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="kafka",
        choices=("kafka", "file"),
        help="cProfile one more 1-worker run of the topic (the default) or the file replay",
    )
    parser.add_argument("--no-two-symbols", action="store_true", help="skip the contrast case")
    parser.add_argument(
        "--cases",
        default="kafka:1,kafka:2,kafka:1x2p,file:1,file:2,file:1x2p,kafka-2sym:1,kafka-2sym:2",
        help="which replays to time, as name:workers or name:1x2p for 2 processes",
    )
    return parser.parse_args()


def prepare(
    settings: Settings, two_settings: Settings, bootstrap: str, n: int, topics: bool
) -> Inputs:
    """Produce the one- and two-symbol topics (if `topics`: some case reads them), write the
    Parquet file, and warm up."""
    assert partition_of("AAPL", TICK_PARTITIONS) != partition_of("MSFT", TICK_PARTITIONS)
    root = settings.data_dir
    one = tick_series(n)
    produced = beats = produced2 = beats2 = 0
    produce_s = math.nan
    if topics:
        ensure_topics(bootstrap, {two_settings.topics.ticks: TICK_PARTITIONS})
        produced, beats, produce_s = produce(bootstrap, settings.topics.ticks, one)
        produced2, beats2, _ = produce(
            bootstrap, two_settings.topics.ticks, tick_series(n, ("AAPL", "MSFT"))
        )
    file = root / "ticks.parquet"
    write_parquet(one, file)
    warm = root / "warm.parquet"
    write_parquet(tick_series(20_000), warm)
    # Warm-up: imports, migrations, the first chdb inserts.
    run_backtest(settings, [ma_config(["AAPL"])], Source(file=warm), run_id="bench-warm")
    return Inputs(
        ticks=n,
        produced=produced,
        beats=beats,
        produce_s=produce_s,
        messages=produced + beats * TICK_PARTITIONS,
        messages2=produced2 + beats2 * TICK_PARTITIONS,
        file=file,
    )


def measure_alone(settings: Settings, bootstrap: str, runs: int) -> Alone:
    topic = settings.topics.ticks
    consumed, broker_s = timed_many(lambda: consume_all(bootstrap, topic), runs)
    source_n, source_s = timed_many(
        lambda: source_alone(bootstrap, topic, False, settings.batch_size), runs
    )
    decode_n, decode_s = timed_many(
        lambda: source_alone(bootstrap, topic, True, settings.batch_size), runs
    )
    return Alone(consumed, broker_s, source_n, source_s, decode_n, decode_s)


def make_cases(
    args: argparse.Namespace, settings: Settings, two: Settings, bootstrap: str, inputs: Inputs
) -> list[Case]:
    n, one, both = inputs.ticks, ("AAPL",), ("AAPL", "MSFT")
    cases = [
        Case("kafka", settings, Source(), bootstrap, 1, one, n, inputs.messages, KAFKA_TARGET),
        Case("kafka", settings, Source(), bootstrap, 2, one, n, inputs.messages, KAFKA_TARGET),
        Case("file", settings, Source(file=inputs.file), None, 1, one, n, n, FILE_TARGET),
        Case("file", settings, Source(file=inputs.file), None, 2, one, n, n, FILE_TARGET),
        Case("kafka", settings, Source(), bootstrap, 1, one, n, inputs.messages, KAFKA_TARGET, 2),
        Case("file", settings, Source(file=inputs.file), None, 1, one, n, n, FILE_TARGET, 2),
    ]
    if not args.no_two_symbols:
        cases += [
            Case("kafka-2sym", two, Source(), bootstrap, w, both, n, inputs.messages2, KAFKA_TARGET)
            for w in (1, 2)
        ]
    wanted = set(args.cases.split(","))
    return [case for case in cases if f"{case.name}:{case.variant}" in wanted]


def profiled_run(settings: Settings, bootstrap: str, inputs: Inputs, replay: str) -> str:
    profile = cProfile.Profile()
    one = ("AAPL",)
    if replay == "file":
        source, messages, what = Source(file=inputs.file), inputs.ticks, "Parquet file"
        case = Case("file-prof", settings, source, None, 1, one, inputs.ticks, messages, 0)
    else:
        source, messages, what = Source(), inputs.messages, "Kafka"
        case = Case("kafka-prof", settings, source, bootstrap, 1, one, inputs.ticks, messages, 0)
    wall = run_case(case, "w1", profile)
    return (
        f"cProfile of one more {what} -> ClickHouse run, 1 worker ({wall:.1f} s under "
        "the profiler):\n\n```text\n" + profile_text(profile) + "\n```\n"
    )


def main() -> None:
    args = parse_args()
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with bench_settings("strikeflow-bench-flow-") as settings:
        if args.batch_size is not None:
            settings = settings.model_copy(update={"batch_size": args.batch_size})
        two = settings.model_copy(update={"topics": Topics(ticks="bench.ticks.two")})
        broker = EmbeddedBroker(log_path=settings.data_dir / "broker.log")
        bootstrap = broker.start(settings.topics.partitions(TICK_PARTITIONS))
        try:
            topics = args.profile == "kafka" or any(
                not case.startswith("file:") for case in args.cases.split(",")
            )
            inputs = prepare(settings, two, bootstrap, args.ticks, topics)
            alone = measure_alone(settings, bootstrap, args.runs) if topics else None
            cases = make_cases(args, settings, two, bootstrap, inputs)
            for rep in range(args.runs):
                for case in cases:
                    run_case(case, f"r{rep}")
            profile_out = (
                profiled_run(settings, bootstrap, inputs, args.profile) if args.profile else ""
            )
        finally:
            gc.collect()
            broker.stop()
    load = (load_before, load_average())
    report_setup(args, settings, inputs, cases, started, load)
    if alone is not None:
        report_alone(alone, inputs)
    medians = report_cases(cases)
    report_ratios(medians, alone.consumed / median(alone.broker_s) if alone else math.nan)
    report_rows_and_fills(cases)
    if profile_out:
        print()
        print(profile_out)


def report_setup(
    args: argparse.Namespace,
    settings: Settings,
    inputs: Inputs,
    cases: list[Case],
    started: str,
    load: tuple[float, float],
) -> None:
    print("## Flow throughput\n")
    print("Command (from the repository root):\n")
    print(f"```\n{COMMAND}{''.join(' ' + a for a in sys.argv[1:])}\n```\n")
    print(
        f"Machine: {machine_line()}. Run started {started}; 1-minute load average "
        f"{load[0]:.2f} before and {load[1]:.2f} after (2 cores; anything above 0 is "
        "other work competing). Broker: the bundled Tansu, memory storage, on loopback. "
        f"ClickHouse: chdb on local disk. Input batches of {settings.batch_size:,} messages or "
        f"rows. Medians of {args.runs} runs after a warm-up run; runs of the cases are "
        "interleaved.\n"
    )
    trades = cases[0].trades if cases else math.nan
    topic = (
        f"produced once to `{settings.topics.ticks}` with {TICK_PARTITIONS} partitions and "
        f"heartbeats every 1000 ms of event time ({inputs.beats:,} per partition: "
        f"{inputs.messages:,} messages), and "
        if inputs.produced
        else "(no topic: only file replays were asked for) "
    )
    print(
        f"Input: {inputs.ticks:,} ticks of one symbol (AAPL), one simulated session ({DAY}), "
        f"{topic}written to a Parquet file. Strategy: `ma_cross` on "
        f"the mid, fast SMA {FAST} ticks, slow SMA {SLOW} ticks, 100 shares of the underlying, "
        "default costs and risk limits (one account); round trips per run: "
        f"{one_or_many(trades)}.\n"
    )


def report_alone(alone: Alone, inputs: Inputs) -> None:
    print("| measurement | messages | median time | messages/s (median) | best run |")
    print("|---|---:|---:|---:|---:|")
    for name, count, seconds in (
        (
            "broker alone: one confluent-kafka consumer, both partitions",
            alone.consumed,
            alone.broker_s,
        ),
        (
            "flow's Kafka source alone (BatchKafkaSource, no Bytewax)",
            alone.source_n,
            alone.source_s,
        ),
        ("… plus decode_ticks (Arrow JSON -> columns)", alone.decode_n, alone.decode_s),
    ):
        print(
            f"| {name} | {count:,} | {median(seconds):.2f} s | "
            f"{fmt_rate(count / median(seconds))} | {fmt_rate(count / min(seconds))} |"
        )
    print(
        f"\nProducing the topic (TickWriter, one producer, JSON): {inputs.produced:,} ticks + "
        f"{inputs.beats * TICK_PARTITIONS:,} heartbeats in {inputs.produce_s:.2f} s "
        f"({fmt_rate(inputs.messages / inputs.produce_s)} messages/s, one run).\n"
    )


def report_cases(cases: list[Case]) -> dict[tuple[str, str], float]:
    """The replay table; returns the median ticks/s of each (case, variant)."""
    print(
        "| replay | workers | ticks | median time | ticks/s (median) | ticks/s (best) "
        "| ticks/s per worker | target per worker | of target | CPU s / wall s | rows written |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    medians: dict[tuple[str, str], float] = {}
    for case in cases:
        seconds = median(case.seconds)
        rate = case.ticks / seconds
        medians[(case.name, case.variant)] = rate
        per_worker = rate / case.threads
        print(
            f"| {LABELS[case.name]} | {case.parallel} | {case.ticks:,} | {seconds:.2f} s "
            f"| {fmt_rate(rate)} | {fmt_rate(case.ticks / min(case.seconds))} "
            f"| {fmt_rate(per_worker)} | {case.target:,.0f} | {per_worker / case.target:.0%} "
            f"| {median(case.cpu) / seconds:.2f} | {sum(case.rows.values()):,} |"
        )
    print("\nEvery run, wall s (CPU s of this process):\n")
    for case in cases:
        runs = ", ".join(f"{w:.2f} ({c:.2f})" for w, c in zip(case.seconds, case.cpu, strict=True))
        print(f"- {LABELS[case.name]}, {case.parallel}: {runs}")
    return medians


def report_ratios(medians: dict[tuple[str, str], float], broker_rate: float) -> None:
    print("\nRatios of medians:\n")
    print("| ratio | value |")
    print("|---|---:|")

    def rate(name: str, variant: str) -> float:
        return medians.get((name, variant), math.nan)

    ratios = [
        ("topic replay, 2 processes / 1 process", rate("kafka", "1x2p") / rate("kafka", "1")),
        ("file replay, 2 processes / 1 process", rate("file", "1x2p") / rate("file", "1")),
        ("topic replay, 2 workers / 1 worker", rate("kafka", "2") / rate("kafka", "1")),
        ("file replay, 2 workers / 1 worker", rate("file", "2") / rate("file", "1")),
        ("file replay / topic replay (1 worker)", rate("file", "1") / rate("kafka", "1")),
        ("topic replay (1 worker) / broker alone", rate("kafka", "1") / broker_rate),
        (
            "2 symbols on 2 partitions, 2 workers / 1 worker",
            rate("kafka-2sym", "2") / rate("kafka-2sym", "1"),
        ),
    ]
    for name, value in ratios:
        if math.isfinite(value):
            print(f"| {name} | {value:.2f}× |")


def report_rows_and_fills(cases: list[Case]) -> None:
    print("\nRows written per run (count by table for the run id, as inserted):\n")
    tables = sorted({t for case in cases for t in case.rows})
    print("| replay | workers | " + " | ".join(tables) + " |")
    print("|---|---:|" + "---:|" * len(tables))
    for case in cases:
        counts = " | ".join(f"{case.rows.get(t, 0):,}" for t in tables)
        print(f"| {case.name} | {case.parallel} | {counts} |")
    digests = {d for case in cases if case.name in ("kafka", "file") for d in case.fills}
    if digests:
        print(
            "\nFills (ts, side, quantity, price) of every one-symbol run, topic or file, 1 or 2 "
            + (
                f"workers: identical ({next(iter(digests))[0]:,} fills)."
                if len(digests) == 1
                else f"workers: NOT identical across runs: {sorted(digests)}."
            )
        )
    report_fingerprints(cases)
    two_digests = {d for case in cases if case.name == "kafka-2sym" for d in case.fills}
    if two_digests:
        print(
            "\nTwo-symbol runs, 1 vs 2 workers: "
            + ("identical fills." if len(two_digests) == 1 else f"different fills {two_digests}.")
        )


def report_fingerprints(cases: list[Case]) -> None:
    """Per replay and repeat, the run fingerprint of every variant: equal or not."""
    print("\nRun fingerprints (sinks.store.fingerprint), per replay and run id, by variant:\n")
    for name in dict.fromkeys(case.name for case in cases):
        variants = [case for case in cases if case.name == name]
        run_ids = sorted({run_id for case in variants for run_id in case.fingerprints})
        for run_id in run_ids:
            found = {case.parallel: case.fingerprints.get(run_id, "-") for case in variants}
            same = len(set(found.values())) == 1
            print(
                f"- {name} `{run_id}`: "
                + (
                    f"identical for {', '.join(found)} (`{next(iter(found.values()))[:16]}…`)"
                    if same
                    else "DIFFERENT: " + ", ".join(f"{k} `{v[:16]}…`" for k, v in found.items())
                )
            )


def one_or_many(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:,.0f}"


if __name__ == "__main__":
    main()
