"""Backtests: the live graph over a bounded range of a recorded topic, or over a tick file.

A backtest has its own run id, writes the same tables as live trading, and records itself in
`backtest_runs` (status, progress, metrics). Several configs in one run are separate accounts
over the same replay: a parameter sweep costs one pass over the data.

The run id defaults to a hash of what is replayed and with which configs, so running the same
backtest again replaces its rows instead of adding a second copy.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bytewax.run import cli_main
from clickhouse_connect.driver.client import Client
from pydantic import TypeAdapter

from flows.analytics import run_metrics
from flows.graph import FlowSpec, build_flow
from flows.kafka_source import offsets_for_time
from flows.portfolio import apply_fill, new_book
from schemas.common import RunStatus, Side
from schemas.config import AlgorithmConfig, BacktestRun
from schemas.db import connect, migrate
from schemas.settings import Settings
from schemas.trading import Fill, PositionSnapshot, Trade
from sinks.store import insert, select

CONFIGS = TypeAdapter(list[AlgorithmConfig])


@dataclass(frozen=True, slots=True)
class Source:
    """What a backtest replays: a topic (of the settings) between two times, or a file."""

    file: Path | None = None
    symbol: str | None = None  # the symbol of a single-symbol file without a symbol column
    from_ts: int | None = None
    to_ts: int | None = None

    def describe(self, settings: Settings) -> str:
        return f"file:{self.file}" if self.file else f"topic:{settings.topics.ticks}"


@dataclass(slots=True)
class AccountResult:
    account_id: str
    metrics: dict[str, float]
    trades: list[Trade]
    ts: np.ndarray = field(repr=False)
    equity: np.ndarray = field(repr=False)


@dataclass(slots=True)
class BacktestResult:
    run: BacktestRun
    accounts: list[AccountResult]


def default_run_id(configs: Sequence[AlgorithmConfig], source: Source, settings: Settings) -> str:
    payload = json.dumps(
        {
            "configs": [c.model_dump(mode="json") for c in configs],
            "source": source.describe(settings),
            "from": source.from_ts,
            "to": source.to_ts,
        },
        sort_keys=True,
    )
    return "bt-" + hashlib.blake2b(payload.encode(), digest_size=6).hexdigest()


def parse_sweep(values: Sequence[str]) -> dict[str, list[Any]]:
    """`["fast=5,10,20", "slow=30,50"]` -> {"fast": [5, 10, 20], "slow": [30, 50]}."""
    sweep: dict[str, list[Any]] = {}
    for item in values:
        name, sep, options = item.partition("=")
        if not sep or not name.strip() or not options.strip():
            raise ValueError(f"--sweep {item!r}: expected NAME=VALUE[,VALUE...]")
        sweep[name.strip()] = [json.loads(v) if _is_number(v) else v for v in options.split(",")]
    return sweep


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def sweep_configs(
    base: AlgorithmConfig, sweep: Mapping[str, Sequence[Any]]
) -> list[AlgorithmConfig]:
    """One account per combination of strategy parameters; invalid combinations (e.g. a fast
    window not below the slow one) are skipped, and an empty result is an error."""
    if not sweep:
        return [base]
    names = list(sweep)
    strategy = base.strategy.model_dump()
    unknown = [name for name in names if name not in strategy]
    if unknown:
        raise ValueError(f"{base.strategy.kind} has no parameter {', '.join(unknown)}")
    configs = []
    for values in itertools.product(*(sweep[n] for n in names)):
        label = "-".join(f"{n}{v}" for n, v in zip(names, values, strict=True))
        try:
            config = base.model_validate(
                {
                    **base.model_dump(),
                    "account_id": f"{base.account_id}-{label}"[:64],
                    "strategy": {**strategy, **dict(zip(names, values, strict=True))},
                }
            )
        except ValueError:
            continue
        configs.append(config)
    if not configs:
        raise ValueError("no combination of the sweep is a valid strategy")
    return configs


def _now_ms() -> int:
    return time.time_ns() // 1_000_000  # wall-clock ok: when the job ran, not trading logic


def _record(client: Client, run: BacktestRun, **changes: Any) -> BacktestRun:
    updated = run.model_copy(update={**changes, "updated_ts": max(_now_ms(), run.updated_ts + 1)})
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
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    report_dir: Path | None = None,
) -> BacktestResult:
    """Replay, record, measure. `on_progress(done, total)` is called from a helper thread;
    setting `stop` cancels the replay (the run is recorded as cancelled)."""
    if not configs:
        raise ValueError("a backtest needs at least one algorithm config")
    if len({c.account_id for c in configs}) != len(configs):
        raise ValueError("account ids must be distinct")
    run_id = run_id or default_run_id(configs, source, settings)
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    created = _now_ms()
    run = BacktestRun(
        run_id=run_id,
        status=RunStatus.RUNNING,
        progress=0.0,
        source=source.describe(settings),
        from_ts=source.from_ts,
        to_ts=source.to_ts,
        accounts=[c.account_id for c in configs],
        configs_json=CONFIGS.dump_json(list(configs)).decode(),
        created_ts=created,
        updated_ts=created,
    )
    insert(client, [run])
    done = [0]
    total = _expected_messages(settings, source, bootstrap)
    spec = FlowSpec(
        run_id=run_id,
        settings=settings,
        configs=list(configs),
        bootstrap=None if source.file else bootstrap,
        bounded=True,
        start_offsets=None,
        from_ts=source.from_ts,
        to_ts=source.to_ts,
        tick_file=source.file,
        file_symbol=source.symbol,
        read_control=False,
        write_kafka=False,
        progress=lambda n: done.__setitem__(0, done[0] + n),
        stop=stop,
    )
    if source.file is None:
        if bootstrap is None:
            raise ValueError("a topic backtest needs the Kafka bootstrap servers")
        if source.from_ts is not None:
            spec.start_offsets = offsets_for_time(bootstrap, settings.topics.ticks, source.from_ts)
            if spec.option_quotes:
                spec.option_start_offsets = offsets_for_time(
                    bootstrap, settings.topics.options, source.from_ts
                )
    finished = threading.Event()

    def report_progress() -> None:
        nonlocal run
        while not finished.wait(1.0):
            if on_progress is not None:
                on_progress(done[0], total)
            fraction = min(done[0] / total, 0.99) if total else 0.0
            run = _record(client, run, progress=fraction, ticks=done[0])

    reporter = threading.Thread(target=report_progress, name="backtest-progress", daemon=True)
    reporter.start()
    try:
        cli_main(build_flow(spec), workers_per_process=workers)  # type: ignore[no-untyped-call]
    except Exception as error:
        finished.set()
        reporter.join()
        _record(client, run, status=RunStatus.FAILED, error=str(error)[:1000], ticks=done[0])
        client.close()
        raise
    finished.set()
    reporter.join()
    if on_progress is not None:
        on_progress(done[0], total or done[0])
    results = [account_result(client, run_id, config) for config in configs]
    metrics = {
        f"{result.account_id}.{name}": value
        for result in results
        for name, value in result.metrics.items()
    }
    report = ""
    if report_dir is not None:
        from flows.report import write_report

        report = str(write_report(report_dir, run_id, results, source.describe(settings)))
    cancelled = stop is not None and stop.is_set()
    run = _record(
        client,
        run,
        status=RunStatus.CANCELLED if cancelled else RunStatus.COMPLETED,
        progress=1.0 if not cancelled else run.progress,
        ticks=done[0],
        metrics=metrics,
        report_path=report,
    )
    client.close()
    return BacktestResult(run=run, accounts=results)


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

    from sinks.kafka import topic_partitions

    topic = settings.topics.ticks
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strikeflow-progress"})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(topic_partitions(bootstrap, topic))
        )
    finally:
        consumer.close()


def trades_from_fills(fills: Sequence[Fill], starting_cash: float) -> list[Trade]:
    """Round trips, rebuilt by booking the fills again in event order (pure and exact)."""
    book = new_book(starting_cash)
    trades: list[Trade] = []
    ordered = sorted(fills, key=lambda f: (f.ts, f.fill_id))
    for fill in ordered:
        option = _option_terms(fill)
        outcome = apply_fill(
            book,
            ts=fill.ts,
            instrument=fill.instrument,
            underlying=fill.underlying,
            asset_class=fill.asset_class,
            multiplier=fill.multiplier,
            side=Side(fill.side),
            quantity=fill.quantity,
            price=fill.price,
            commission_cents=round(fill.commission * 100),
            **option,
        )
        trades.extend(trade.to_trade(fill.account_id) for trade in outcome.trades)
    return trades


def _option_terms(fill: Fill) -> dict[str, Any]:
    if fill.multiplier == 1:
        return {}
    from flows.chain import ChainParams, expiry_ts_ms, parse_occ_symbol

    _, expiry, is_call, strike = parse_occ_symbol(fill.instrument)
    return {"expiry_ts": expiry_ts_ms(expiry, ChainParams()), "strike": strike, "is_call": is_call}


def account_result(client: Client, run_id: str, config: AlgorithmConfig) -> AccountResult:
    """Metrics, trades and the equity curve of one account of a finished run."""
    where = "run_id = {run:String} AND account_id = {account:String}"
    params = {"run": run_id, "account": config.account_id}
    snapshots = select(client, PositionSnapshot, where, params)
    account_rows = sorted((s for s in snapshots if s.instrument == ""), key=lambda s: s.ts)
    invested = {s.ts for s in snapshots if s.instrument != ""}
    fills = select(client, Fill, where, params)
    trades = trades_from_fills(fills, config.starting_cash)
    ts = np.array([s.ts for s in account_rows], dtype=np.int64)
    equity = np.array([s.equity for s in account_rows], dtype=np.float64)
    exposure = len(invested) / len(account_rows) if account_rows else 0.0
    if len(ts):
        metrics = run_metrics(ts, equity, [t.pnl for t in trades], config.starting_cash, exposure)
    else:
        metrics = {"trade_count": float(len(trades))}
    metrics["final_equity"] = float(equity[-1]) if len(equity) else config.starting_cash
    metrics["commissions"] = round(sum(f.commission for f in fills), 2)
    return AccountResult(config.account_id, metrics, trades, ts, equity)
