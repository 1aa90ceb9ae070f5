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
- the flow's own part, measured inside the flow (flows.stages.arrivals): from the Kafka
  source's poll that returned the tick to the produce() of its decision, per decision
  (`FlowSpec.flow_latency`); decisions produced in the first `--warmup` seconds are left out.
  End to end minus this is the broker's part (the feed's linger, delivery, the consumer's fetch).
The ticks are simulated prices re-timed to exactly `--rate` per second of event time, dealt
round-robin over the symbols, starting at 10:00 New York time of a trading day.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path
from typing import Any

import numpy as np
from latency_analysis import EARLY_SECONDS, analyse, expected_decisions
from latency_roles import consume_main, feed_main

COMMAND = ".venv/bin/python benchmarks/flow_latency.py"
TARGET_P99_MS = 20.0


@dataclass(frozen=True)
class Scenario:
    label: str
    partitions: int
    heartbeat_ms: int
    symbols: tuple[str, ...]
    strategy: str  # "fast,slow" of ma_cross
    workers: int = 1
    ticks_only: bool = False  # no flow: feed -> broker -> a consumer of the ticks topic


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


def start_flow(
    args: argparse.Namespace, root: Path, own: list[tuple[int, int]]
) -> tuple[Any, str, list[BaseException]]:
    """The bundled broker and (unless --ticks-only) the live graph in a thread of this
    process: (broker, bootstrap, the flow's failure if it fails). The flow appends
    (monotonic ns at produce(), its own latency in ns) of every decision to `own`."""
    from bytewax.run import cli_main

    from api.runtime.broker import EmbeddedBroker
    from flows.runs.live import live_spec
    from flows.stages.graph import build_flow
    from schemas.config import AlgorithmConfig, MovingAverageCross
    from sinks.clickhouse.client import connect, migrate

    settings = latency_settings(args, root)
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    client.close()
    broker = EmbeddedBroker(log_path=root / "broker.log")
    bootstrap = broker.start(settings.topics.partitions(args.partitions))
    failure: list[BaseException] = []
    if args.ticks_only:
        return broker, bootstrap, failure
    fast, slow = (int(v) for v in args.strategy.split(","))
    config = AlgorithmConfig(
        account_id="latency",
        symbols=args.symbols.split(","),
        strategy=MovingAverageCross(fast=fast, slow=slow),
    )
    spec = live_spec(settings, bootstrap, [config])
    spec.flow_latency = lambda _decision, taken: own.append((time.monotonic_ns(), taken))
    flow = build_flow(spec)

    def run_flow() -> None:
        try:
            cli_main(flow, workers_per_process=args.workers)  # type: ignore[no-untyped-call]
        except BaseException as error:
            failure.append(error)

    threading.Thread(target=run_flow, name="flow", daemon=True).start()
    return broker, bootstrap, failure


def latency_settings(args: argparse.Namespace, root: Path) -> Any:
    from schemas.settings import Settings

    return Settings(
        data_dir=root,
        clickhouse_dsn=f"chdb://{root / 'clickhouse'}",
        ticks_partitions=args.partitions,
    )


def role(name: str, args: argparse.Namespace, bootstrap: str, *extra: str) -> list[str]:
    """The command line of one of this script's helper processes."""
    return [
        sys.executable,
        os.path.abspath(__file__),
        "--role",
        name,
        "--bootstrap",
        bootstrap,
        "--partitions",
        str(args.partitions),
        *extra,
    ]


def start_consumer(args: argparse.Namespace, root: Path, bootstrap: str) -> subprocess.Popen[bytes]:
    """The consumer of the decisions (or, for the broker alone, of the ticks), once it fetches."""
    topics = latency_settings(args, root).topics
    watched = topics.ticks if args.ticks_only else topics.decisions
    ready = root / "consumer.ready"
    consumer = subprocess.Popen(
        role(
            "consume",
            args,
            bootstrap,
            *("--topic", watched, "--ready", str(ready), "--out", str(root / "decisions.npz")),
            *(["--ticks-only"] if args.ticks_only else []),
        )
    )
    while not ready.exists():
        if consumer.poll() is not None:
            raise RuntimeError("the decisions consumer exited early")
        time.sleep(0.05)
    return consumer


def run_feed(args: argparse.Namespace, root: Path, bootstrap: str) -> None:
    """The paced feed, in its own process, until it has produced every tick."""
    options = {
        "--topic": latency_settings(args, root).topics.ticks,
        "--heartbeat-ms": str(args.heartbeat_ms),
        "--rate": str(args.rate),
        "--warmup": str(args.warmup),
        "--duration": str(args.duration),
        "--symbols": args.symbols,
        "--linger-ms": str(args.linger_ms),
        "--out": str(root / "ticks.npz"),
    }
    flat = [part for pair in options.items() for part in pair]
    subprocess.run(role("feed", args, bootstrap, *flat), check=True)


def run_main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="strikeflow-bench-latency-"))
    own: list[tuple[int, int]] = []
    broker, bootstrap, failure = start_flow(args, root, own)
    consumer = start_consumer(args, root, bootstrap)
    cpu0, wall0, broker0 = time.process_time(), time.monotonic(), broker_cpu_seconds()
    run_feed(args, root, bootstrap)
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
        **own_latency(own, int((wall0 + args.warmup) * 1e9)),
    )
    print("RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()
    broker.stop()
    shutil.rmtree(root, ignore_errors=True)
    os._exit(0)  # the live flow (a daemon thread) has no end: leave without waiting for it


def own_latency(own: list[tuple[int, int]], after_ns: int) -> dict[str, float]:
    """Percentiles (ms) of the flow's own latency over decisions produced after `after_ns`."""
    taken = np.array([ns for at, ns in own if at >= after_ns], dtype=np.float64) / 1e6
    if not len(taken):
        return {"own_n": 0, "own_p50": float("nan"), "own_p99": float("nan"), "own_max": 0.0}
    return {
        "own_n": len(taken),
        "own_p50": float(np.percentile(taken, 50)),
        "own_p99": float(np.percentile(taken, 99)),
        "own_max": float(taken.max()),
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


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def scenarios_of(args: argparse.Namespace) -> tuple[list[Scenario], tuple[Scenario, Scenario]]:
    """Every scenario to run, in order, and the two (broker alone, main) run `--runs` times."""
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
    return scenarios, (broker_alone, main_scenario)


def main() -> None:
    args = parse_args()
    roles = {"feed": feed_main, "consume": consume_main, "run": run_main}
    if args.role in roles:
        roles[args.role](args)
        return

    from common import load_average, machine_line

    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    scenarios, repeated = scenarios_of(args)
    results = [(scenario, measure(scenario, args)) for scenario in scenarios]
    print("## Tick-to-decision latency\n")
    print("Command (from the repository root):\n")
    print(f"```\n{COMMAND}{''.join(' ' + a for a in sys.argv[1:])}\n```\n")
    print(
        f"Machine: {machine_line()}. Run started {started}; 1-minute load average "
        f"{load_before:.2f} before and {load_average():.2f} after (2 cores, shared). Each run is "
        "a fresh process with its own broker (Tansu, memory storage, loopback) and chdb path: "
        "the live graph (`live_spec`, unbounded, control topic included, writing ClickHouse and "
        "the output topics) under `cli_main` in a thread; the feed and the decisions consumer "
        "are two more processes (three Python processes and the broker on 2 cores).\n"
    )
    report_method(args)
    report_results(results, repeated)


def report_method(args: argparse.Namespace) -> None:
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


def report_results(
    results: list[tuple[Scenario, dict[str, Any]]], repeated: tuple[Scenario, Scenario]
) -> None:
    print(
        "| scenario | workers | arrived / expected | decisions/s | p50 ms | p99 ms | max ms "
        f"| first {EARLY_SECONDS} s: p50 ms | p99 ms | flow's own: p50 ms | p99 ms | max ms "
        "| CPU s / wall s: flow | broker | feed→broker ack p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scenario, r in results:
        flow_cpu = "—" if scenario.ticks_only else f"{r['flow_cpu_per_wall']:.2f}"
        own = (
            "— | — | —"
            if scenario.ticks_only
            else f"{ms(r['own_p50'])} | {ms(r['own_p99'])} | {ms(r['own_max'])}"
        )
        print(
            f"| {scenario.label} | {scenario.workers} | {r['decisions']:,} / {r['expected']:,} "
            f"| {r['decision_rate']:,.0f} | {ms(r['p50'])} | {ms(r['p99'])} | {ms(r['max'])} "
            f"| {ms(r['early_p50'])} | {ms(r['early_p99'])} | {own} | {flow_cpu} "
            f"| {r['broker_cpu_per_wall']:.2f} | {ms(r['ack_p99'])} |"
        )
    for scenario in repeated:
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
        if not scenario.ticks_only:
            own50 = float(np.median([r["own_p50"] for r in runs]))
            own99 = float(np.median([r["own_p99"] for r in runs]))
            print(
                f"\nThe flow's own part (source poll → decision produce()), medians of "
                f"{len(runs)} runs: p50 {ms(own50)} ms, p99 {ms(own99)} ms. Target p99 ≤ "
                f"{TARGET_P99_MS:g} ms: {'met' if own99 <= TARGET_P99_MS else 'NOT met'}."
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
