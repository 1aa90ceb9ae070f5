"""Benchmark: tick-to-decision latency of the live graph with the feed at 5,000 ticks/s.

Run from the repository root:

    .venv/bin/python benchmarks/flow_latency.py            # Markdown section

Each measured run is its own process (`--role run`; chdb allows one engine path per process
and a live flow never ends by itself, so the process exits when it has its numbers):
- it starts the bundled broker (Tansu, in memory) and creates the topics;
- it runs the live graph, `build_flow(flows.runs.live.live_spec(...))` (unbounded, reading the
  control topic too, writing ClickHouse and the output topics), with `bytewax.run.cli_main` in
  a thread of that process;
- a feed process (`--role feed`) produces ticks in real time at `--rate` ticks/s with
  flows.sim.feed.TickWriter, through a producer wrapper that notes the monotonic time of every
  produce() call and learns each message's partition and offset from its delivery callback;
- a consumer process (`--role consume`) reads the decisions topic and notes each decision's
  arrival time; its `decision_id` (`...:dec:<partition>:<offset>:<leg>`) names the tick that
  caused it;
- latency = decision arrival − produce() of the triggering tick (CLOCK_MONOTONIC, shared by
  the processes). Ticks produced in the first `--warmup` seconds are left out.
The ticks are simulated prices re-timed to exactly `--rate` per second of event time, dealt
round-robin over the symbols, starting at 10:00 New York time of a trading day.
"""

from __future__ import annotations

import argparse
import array
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

COMMAND = ".venv/bin/python benchmarks/flow_latency.py"
DAY = date(2026, 11, 23)
TARGET_P99_MS = 20.0
EARLY_SECONDS = 10  # the first seconds of the measured window, before the broker slows down


@dataclass(frozen=True)
class Scenario:
    label: str
    partitions: int
    heartbeat_ms: int
    symbols: tuple[str, ...]
    strategy: str  # "fast,slow" of ma_cross
    workers: int = 1
    ticks_only: bool = False  # no flow: feed -> broker -> a consumer of the ticks topic


# --- the feed ---------------------------------------------------------------------------------


def latency_ticks(symbols: tuple[str, ...], rate: int, seconds: float) -> dict[str, Any]:
    """`rate * seconds` ticks, `rate` per second of event time, dealt round-robin over
    `symbols`, with simulated prices (each symbol's own path, in order)."""
    from flows.sim.simulator import SimParams, session_bounds, simulate_session

    total = int(rate * seconds)
    per_symbol = -(-total // len(symbols))
    sim, _ = simulate_session(list(symbols), DAY, SimParams(ticks_per_minute=per_symbol / 300))
    index = np.arange(total)
    codes = (index % len(symbols)).astype(np.int32)
    nth = index // len(symbols)  # the k-th tick of its symbol
    start = session_bounds(DAY, "America/New_York")[0] + 30 * 60_000  # 10:00 New York
    columns: dict[str, Any] = {
        "ts": start + (index * 1000) // rate,
        "codes": codes,
        "symbols": tuple(symbols),
    }
    for name in ("bid", "ask", "last", "volume"):
        values = getattr(sim, name)
        out = np.empty(total, dtype=values.dtype)
        for code in range(len(symbols)):
            own = values[sim.codes == code]
            if len(own) < per_symbol:
                raise RuntimeError("the simulated session is too short; lower the rate")
            mine = codes == code
            out[mine] = own[nth[mine]]
        columns[name] = out
    return columns


class RecordingProducer:
    """Stands in for confluent_kafka.Producer in TickWriter: notes when each message was
    handed to produce() and, from its delivery report, where it landed."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.partition = array.array("i")
        self.offset = array.array("q")
        self.produced_ns = array.array("q")
        self.acked_ns = array.array("q")  # when the delivery report was served (poll)

    def _delivered(self, produced_ns: int, error: Any, message: Any) -> None:
        if error is None and message.key() is not None:  # ticks only, not heartbeats
            self.partition.append(message.partition())
            self.offset.append(message.offset())
            self.produced_ns.append(produced_ns)
            self.acked_ns.append(time.monotonic_ns())

    def produce(self, topic: str, value: bytes, key: bytes | None = None, **kwargs: Any) -> None:
        now = time.monotonic_ns()
        self.inner.produce(
            topic, value, key, on_delivery=functools.partial(self._delivered, now), **kwargs
        )

    def poll(self, timeout: float) -> int:
        return int(self.inner.poll(timeout))

    def flush(self, timeout: float) -> int:
        return int(self.inner.flush(timeout))


def feed_main(args: argparse.Namespace) -> None:
    from flows.sim.feed import TickWriter
    from sinks.kafka.admin import producer

    symbols = tuple(args.symbols.split(","))
    ticks = latency_ticks(symbols, args.rate, args.warmup + args.duration)
    # linger.ms 0: the feed sends at once, so the latency is the flow's, not the feed's batching.
    recorder = RecordingProducer(producer(args.bootstrap, **{"linger.ms": args.linger_ms}))
    writer = TickWriter(
        recorder,  # type: ignore[arg-type]  # duck-typed: produce, poll, flush
        args.topic,
        args.partitions,
        heartbeat_ms=args.heartbeat_ms,
    )
    ts = ticks["ts"]
    starts = np.flatnonzero(np.diff(ts, prepend=ts[0] - 1))  # one slice per millisecond
    ends = [*starts[1:].tolist(), len(ts)]
    began = time.monotonic()
    cpu0 = time.process_time()
    first = int(ts[0])
    lag = array.array("d")
    for start, end in zip(starts.tolist(), ends, strict=True):
        due = began + (int(ts[start]) - first) / 1000
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            lag.append(now - due)
        part = slice(start, end)
        writer.write(
            ts[part],
            ticks["codes"][part],
            symbols,
            ticks["bid"][part],
            ticks["ask"][part],
            ticks["last"][part],
            ticks["volume"][part],
        )
        recorder.poll(0)
    finished = time.monotonic()
    cpu = (time.process_time() - cpu0) / (finished - began)
    writer.finish()
    np.savez(
        args.out,
        partition=np.frombuffer(recorder.partition, dtype=np.int32),
        offset=np.frombuffer(recorder.offset, dtype=np.int64),
        produced_ns=np.frombuffer(recorder.produced_ns, dtype=np.int64),
        acked_ns=np.frombuffer(recorder.acked_ns, dtype=np.int64),
        measure_from_ns=np.int64((began + args.warmup) * 1e9),
        seconds=np.float64(finished - began),
        cpu_per_wall=np.float64(cpu),
        ticks=np.int64(len(ts)),
        lag_p99_ms=np.float64(np.percentile(lag, 99) * 1e3 if len(lag) else 0.0),
    )


# --- the decisions consumer -------------------------------------------------------------------


def consume_main(args: argparse.Namespace) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "bench-latency",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,  # as the flow's own consumers; 1 ms swamps Tansu
            "fetch.min.bytes": 1,
        }
    )
    consumer.assign(
        [TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)]
    )
    consumer.poll(0.5)  # connected and fetching before the feed starts
    Path(args.ready).touch()
    cpu0, wall0 = time.process_time(), time.monotonic()
    arrived: list[tuple[int, Any]] = []
    while not stop.is_set():
        message = consumer.poll(0.05)
        if message is None or message.error() is not None:
            continue
        arrived.append((time.monotonic_ns(), message))
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    consumer.close()
    partition, offset, arrival = [], [], []
    for at, message in arrived:
        if args.ticks_only:  # the broker alone: the ticks themselves, not decisions
            if message.key() is None:
                continue  # a heartbeat
            partition.append(message.partition())
            offset.append(message.offset())
        else:
            decision_id = json.loads(message.value())["decision_id"]
            _, tick_partition, tick_offset, _leg = decision_id.rsplit(":", 3)
            partition.append(int(tick_partition))
            offset.append(int(tick_offset))
        arrival.append(at)
    np.savez(
        args.out,
        partition=np.array(partition, dtype=np.int32),
        offset=np.array(offset, dtype=np.int64),
        arrival_ns=np.array(arrival, dtype=np.int64),
        cpu_per_wall=np.float64(cpu),
    )


# --- one measured run -------------------------------------------------------------------------


def broker_cpu_seconds() -> float:
    """CPU seconds used so far by this process's broker child (Tansu), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if "tansu" in name and int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_main(args: argparse.Namespace) -> None:
    from bytewax.run import cli_main

    from api.runtime.broker import EmbeddedBroker
    from flows.runs.live import live_spec
    from flows.stages.graph import build_flow
    from schemas.config import AlgorithmConfig, MovingAverageCross
    from schemas.settings import Settings
    from sinks.clickhouse.client import connect, migrate

    root = Path(tempfile.mkdtemp(prefix="strikeflow-bench-latency-"))
    settings = Settings(
        data_dir=root,
        clickhouse_dsn=f"chdb://{root / 'clickhouse'}",
        ticks_partitions=args.partitions,
    )
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    client.close()
    broker = EmbeddedBroker(log_path=root / "broker.log")
    bootstrap = broker.start(settings.topics.partitions(args.partitions))
    flow = None
    if not args.ticks_only:
        fast, slow = (int(v) for v in args.strategy.split(","))
        config = AlgorithmConfig(
            account_id="latency",
            symbols=args.symbols.split(","),
            strategy=MovingAverageCross(fast=fast, slow=slow),
        )
        flow = build_flow(live_spec(settings, bootstrap, [config]))
    failure: list[BaseException] = []
    watched = settings.topics.ticks if args.ticks_only else settings.topics.decisions

    def run_flow() -> None:
        try:
            cli_main(flow, workers_per_process=args.workers)  # type: ignore[no-untyped-call]
        except BaseException as error:
            failure.append(error)

    if flow is not None:
        threading.Thread(target=run_flow, name="flow", daemon=True).start()
    me = [sys.executable, os.path.abspath(__file__)]
    common = ["--bootstrap", bootstrap, "--partitions", str(args.partitions)]
    ready = root / "consumer.ready"
    consumer = subprocess.Popen(
        [
            *me,
            "--role",
            "consume",
            *common,
            "--topic",
            watched,
            *(["--ticks-only"] if args.ticks_only else []),
            "--ready",
            str(ready),
            "--out",
            str(root / "decisions.npz"),
        ]
    )
    while not ready.exists():
        if consumer.poll() is not None:
            raise RuntimeError("the decisions consumer exited early")
        time.sleep(0.05)
    cpu0, wall0, broker0 = time.process_time(), time.monotonic(), broker_cpu_seconds()
    subprocess.run(
        [
            *me,
            "--role",
            "feed",
            *common,
            "--topic",
            settings.topics.ticks,
            "--heartbeat-ms",
            str(args.heartbeat_ms),
            "--rate",
            str(args.rate),
            "--warmup",
            str(args.warmup),
            "--duration",
            str(args.duration),
            "--symbols",
            args.symbols,
            "--linger-ms",
            str(args.linger_ms),
            "--out",
            str(root / "ticks.npz"),
        ],
        check=True,
    )
    wall = time.monotonic() - wall0
    flow_cpu = (time.process_time() - cpu0) / wall
    broker_cpu = (broker_cpu_seconds() - broker0) / wall
    time.sleep(args.drain)
    consumer.send_signal(signal.SIGTERM)
    consumer.wait(60)
    if failure:
        raise RuntimeError(f"the flow failed: {failure[0]!r}")
    feed = np.load(root / "ticks.npz")
    decisions = np.load(root / "decisions.npz")
    result = analyse(feed, decisions, expected_decisions(args))
    result.update(
        flow_cpu_per_wall=flow_cpu,
        broker_cpu_per_wall=broker_cpu,
        feed_cpu_per_wall=float(feed["cpu_per_wall"]),
        consumer_cpu_per_wall=float(decisions["cpu_per_wall"]),
        feed_seconds=float(feed["seconds"]),
    )
    print("RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()
    broker.stop()
    shutil.rmtree(root, ignore_errors=True)
    os._exit(0)  # the live flow (a daemon thread) has no end: leave without waiting for it


def expected_decisions(args: argparse.Namespace) -> tuple[int, int]:
    """Signals the strategy gives on the measured ticks (all of them, and the first
    EARLY_SECONDS): each is one decision (a position change of one leg), so decisions that
    have not arrived are counted, not silently left out."""
    from flows.trading.strategies import new_strategy_state, strategy_step
    from schemas.config import MovingAverageCross

    symbols = tuple(args.symbols.split(","))
    ticks = latency_ticks(symbols, args.rate, args.warmup + args.duration)
    first = int(args.rate * args.warmup)
    early_end = first + EARLY_SECONDS * args.rate
    if args.ticks_only:
        total = len(ticks["ts"]) - first
        return total, min(total, EARLY_SECONDS * args.rate)
    fast, slow = (int(v) for v in args.strategy.split(","))
    config = MovingAverageCross(fast=fast, slow=slow)
    mids = (ticks["bid"] + ticks["ask"]) * 0.5
    total = early = 0
    for code in range(len(symbols)):
        rows = np.flatnonzero(ticks["codes"] == code)
        _, signals = strategy_step(
            config, new_strategy_state(config), ticks["ts"][rows], mids[rows]
        )
        at = rows[[signal.index for signal in signals]]
        total += int(np.count_nonzero(at >= first))
        early += int(np.count_nonzero((at >= first) & (at < early_end)))
    return total, early


def analyse(feed: Any, decisions: Any, expected: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    produced: dict[tuple[int, int], int] = dict(
        zip(
            zip(feed["partition"].tolist(), feed["offset"].tolist(), strict=True),
            feed["produced_ns"].tolist(),
            strict=True,
        )
    )
    measure_from = int(feed["measure_from_ns"])
    latencies, sent_times, unmatched, warm = [], [], 0, 0
    for p, o, at in zip(
        decisions["partition"].tolist(),
        decisions["offset"].tolist(),
        decisions["arrival_ns"].tolist(),
        strict=True,
    ):
        sent = produced.get((p, o))
        if sent is None:
            unmatched += 1
        elif sent < measure_from:
            warm += 1
        else:
            latencies.append((at - sent) / 1e6)
            sent_times.append(sent)
    values = np.array(latencies)
    sent_at = np.array(sent_times, dtype=np.int64)
    measured_ticks = int(np.count_nonzero(feed["produced_ns"] >= measure_from))
    span = (feed["produced_ns"].max() - measure_from) / 1e9 if len(values) else float("nan")

    second = (sent_at - measure_from) // 1_000_000_000
    early = second < EARLY_SECONDS
    # Decisions that never arrived count as later than any that did (censored: +inf).
    missing = max(expected[0] - len(values), 0)
    missing_early = max(expected[1] - int(early.sum()), 0)
    censored = np.concatenate([values, np.full(missing, np.inf)])
    censored_early = np.concatenate([values[early], np.full(missing_early, np.inf)])

    def pct(q: float, where: Any = None, chosen: Any = None) -> float:
        if chosen is None:
            chosen = values if where is None else values[where]
        if not len(chosen):
            return float("nan")
        return float(np.percentile(chosen, q, method="inverted_cdf"))

    timeline = [round(pct(99, second == k), 1) for k in range(int(second.max(initial=-1)) + 1)]

    acked = (feed["acked_ns"] - feed["produced_ns"]) / 1e6
    return {
        "ack_p50": float(np.percentile(acked, 50)),
        "ack_p99": float(np.percentile(acked, 99)),
        "ack_max": float(acked.max()),
        "decisions": len(values),
        "expected": expected[0],
        "missing": missing,
        "missing_early": missing_early,
        "warmup_decisions": warm,
        "unmatched": unmatched,
        "ticks": int(feed["ticks"]),
        "measured_ticks": measured_ticks,
        "tick_rate": measured_ticks / span if span else float("nan"),
        "decision_rate": len(values) / span if span else float("nan"),
        "feed_lag_p99_ms": float(feed["lag_p99_ms"]),
        "p50": pct(50, chosen=censored),
        "p90": pct(90, chosen=censored),
        "p99": pct(99, chosen=censored),
        "p999": pct(99.9, chosen=censored),
        "max": float(censored.max()) if len(censored) else float("nan"),
        "arrived_p99": pct(99),
        "arrived_max": float(values.max()) if len(values) else float("nan"),
        "early_p50": pct(50, chosen=censored_early),
        "early_p99": pct(99, chosen=censored_early),
        "early_max": float(values[early].max()) if early.any() else float("nan"),
        "p99_by_second": timeline,
        "mean": float(values.mean()) if len(values) else float("nan"),
    }


# --- the orchestrator -------------------------------------------------------------------------


def measure(scenario: Scenario, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--role",
        "run",
        "--partitions",
        str(scenario.partitions),
        "--heartbeat-ms",
        str(scenario.heartbeat_ms),
        "--symbols",
        ",".join(scenario.symbols),
        "--workers",
        str(scenario.workers),
        "--rate",
        str(args.rate),
        "--warmup",
        str(args.warmup),
        "--duration",
        str(args.duration),
        "--strategy",
        scenario.strategy,
        *(["--ticks-only"] if scenario.ticks_only else []),
    ]
    print(f"<!-- {scenario.label} -->", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
    raise RuntimeError(f"{scenario.label}: no result (exit code {done.returncode})")


def ms(value: float, drain: float = 3.0) -> str:
    if value == float("inf"):
        return f"> {drain * 1000:,.0f}"  # had not arrived `drain` s after the feed stopped
    return f"{value:,.1f}" if np.isfinite(value) else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("main", "run", "feed", "consume"), default="main")
    parser.add_argument("--runs", type=int, default=3, help="runs of the main scenario")
    parser.add_argument("--rate", type=int, default=5000, help="ticks per second")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds left out at the start")
    parser.add_argument("--drain", type=float, default=3.0)
    parser.add_argument("--strategy", default="5,20", help="ma_cross fast,slow (main)")
    parser.add_argument("--contrasts", action=argparse.BooleanOptionalAction, default=True)
    # for the roles
    parser.add_argument("--bootstrap")
    parser.add_argument("--topic")
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--heartbeat-ms", type=int, default=5)
    parser.add_argument("--symbols", default="AAPL,AMZN,MSFT,NVDA")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--linger-ms", type=int, default=5, help="the feed producer's linger")
    parser.add_argument("--ticks-only", action="store_true", help="no flow: the broker alone")
    parser.add_argument("--out")
    parser.add_argument("--ready")
    args = parser.parse_args()
    if args.role == "feed":
        feed_main(args)
        return
    if args.role == "consume":
        consume_main(args)
        return
    if args.role == "run":
        run_main(args)
        return

    from common import load_average, machine_line

    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    both = ("AAPL", "AMZN", "MSFT", "NVDA")  # AAPL, AMZN on partition 0; MSFT, NVDA on 1
    quiet = ("AAPL", "AMZN")  # partition 1 gets heartbeats only
    frequent, moderate = args.strategy, "20,80"
    broker_alone = Scenario("broker alone (no flow), 2 partitions, 5 ms", 2, 5, both, "", 1, True)
    main_scenario = Scenario(f"ma_cross({frequent}), 2 partitions, 5 ms", 2, 5, both, frequent)
    scenarios = [broker_alone, main_scenario] * args.runs
    if args.contrasts:
        scenarios += [
            Scenario("ma_cross(2,5), 2 partitions, 5 ms", 2, 5, both, "2,5"),
            Scenario(f"ma_cross({moderate}), 2 partitions, 5 ms", 2, 5, both, moderate),
            Scenario(f"ma_cross({moderate}), 2 partitions, 1000 ms", 2, 1000, both, moderate),
            Scenario(f"ma_cross({moderate}), 1 partition, 1000 ms", 1, 1000, both, moderate),
            Scenario(
                f"ma_cross({moderate}), 2 partitions (1 quiet), 1000 ms", 2, 1000, quiet, moderate
            ),
            Scenario(f"ma_cross({moderate}), 2 partitions (1 quiet), 5 ms", 2, 5, quiet, moderate),
            Scenario(
                f"ma_cross({moderate}), 2 partitions, 5 ms, 2 workers", 2, 5, both, moderate, 2
            ),
        ]
    results = [(scenario, measure(scenario, args)) for scenario in scenarios]
    load_after = load_average()

    print("## Tick-to-decision latency\n")
    print("Command (from the repository root):\n")
    print(f"```\n{COMMAND}\n```\n")
    print(
        f"Machine: {machine_line()}. Run started {started}; 1-minute load average "
        f"{load_before:.2f} before and {load_after:.2f} after (2 cores, shared). Each run is a "
        "fresh process with its own broker (Tansu, memory storage, loopback) and chdb path: the "
        "live graph (`live_spec`, unbounded, control topic included, writing ClickHouse and "
        "the output topics) under `cli_main` in a thread; the feed and the decisions consumer "
        "are two more processes (three Python processes and the broker on 2 cores).\n"
    )
    print(
        f"Feed: {args.rate:,} ticks/s of event time, paced in real time, {args.warmup:g} s of "
        f"warm-up (left out) + {args.duration:g} s measured, dealt round-robin over AAPL, AMZN "
        "(partition 0), MSFT, NVDA (partition 1) — or AAPL, AMZN only for '1 quiet' — produced "
        "with TickWriter through the project's producer (linger.ms 5); heartbeats every 5 ms "
        "or 1000 ms to every partition. One account, `ma_cross` on every symbol, 100 shares, "
        "default limits. Latency = arrival of the decision at a consumer of "
        "`strikeflow.decisions` (fetch.wait.max.ms 5, as the flow's consumers) − produce() of "
        "the tick named in its decision_id; for 'broker alone', arrival of the tick itself at "
        f"a consumer of the ticks topic. 'first {EARLY_SECONDS} s': decisions on ticks produced "
        f"in the first {EARLY_SECONDS} s of the measured window. 'arrived / expected': decisions "
        "that reached the consumer by the end of the run (3 s after the feed stopped) against "
        "the strategy's signals on the measured ticks (one decision each, computed with "
        "strategy_step on the same ticks); the missing ones count as later than every arrived "
        "one, so a percentile that falls among them reads '> 3,000'.\n"
    )
    print(
        "| scenario | workers | arrived / expected | decisions/s | p50 ms | p99 ms | max ms "
        f"| first {EARLY_SECONDS} s: p50 ms | p99 ms | CPU s / wall s: flow | broker "
        "| feed→broker ack p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scenario, r in results:
        flow_cpu = "—" if scenario.ticks_only else f"{r['flow_cpu_per_wall']:.2f}"
        print(
            f"| {scenario.label} | {scenario.workers} | {r['decisions']:,} / {r['expected']:,} "
            f"| {r['decision_rate']:,.0f} | {ms(r['p50'])} | {ms(r['p99'])} | {ms(r['max'])} "
            f"| {ms(r['early_p50'])} | {ms(r['early_p99'])} | {flow_cpu} "
            f"| {r['broker_cpu_per_wall']:.2f} | {ms(r['ack_p99'])} |"
        )
    for scenario in (broker_alone, main_scenario):
        runs = [r for s_, r in results if s_ == scenario]
        p50 = float(np.median([r["p50"] for r in runs]))
        p99 = float(np.median([r["p99"] for r in runs]))
        e50 = float(np.median([r["early_p50"] for r in runs]))
        e99 = float(np.median([r["early_p99"] for r in runs]))
        print(
            f"\n{scenario.label}, medians of {len(runs)} runs: p50 {ms(p50)} ms, p99 {ms(p99)} "
            f"ms over the whole window; first {EARLY_SECONDS} s p50 {ms(e50)} ms, p99 "
            f"{ms(e99)} ms. Target p99 ≤ {TARGET_P99_MS:g} ms: "
            f"{'met' if p99 <= TARGET_P99_MS else 'NOT met'}"
            + (f" ({p99 / TARGET_P99_MS:.1f}× it)." if np.isfinite(p99) else ".")
        )
    unmatched = sum(r["unmatched"] for _, r in results)
    lag = max(r["feed_lag_p99_ms"] for _, r in results)
    rate = min(r["tick_rate"] for _, r in results)
    print(
        f"\nDecisions whose tick was not found among the produced ticks: {unmatched}. Feed: "
        f"slowest run {rate:,.0f} ticks/s; p99 of how late a 1 ms slice was produced, worst "
        f"run {lag:.1f} ms. p99 per second of the measured window, per run: in the JSON below."
    )
    print("\n<details><summary>raw results (JSON)</summary>\n")
    print("```json")
    for scenario, r in results:
        print(json.dumps({"scenario": asdict(scenario), **r}))
    print("```\n</details>")


if __name__ == "__main__":
    main()
