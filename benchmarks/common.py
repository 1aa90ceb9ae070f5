"""What the flow benchmarks share: the machine line, the input ticks, a benchmark's settings,
and what a run wrote (rows per table, a digest of its fills)."""

from __future__ import annotations

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flows.sim.feed import TickWriter
from flows.sim.simulator import SimParams, simulate_session
from flows.trading.ticks import TickColumns
from schemas.config import AlgorithmConfig, MovingAverageCross
from schemas.settings import Settings
from schemas.tables import TABLE_MODELS, column_names, table_of
from sinks.clickhouse.client import connect
from sinks.kafka.admin import producer, topic_partitions

DAY = date(2026, 11, 23)  # a Monday
FAST, SLOW = 50, 200
TICK_PARTITIONS = 2
REPO = Path(__file__).resolve().parent.parent


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
