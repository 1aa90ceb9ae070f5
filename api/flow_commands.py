"""Commands that run the flows: the feed, backtests and the demo."""

from __future__ import annotations

import gc
import json
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.demo import SESSION_DAY, SYMBOLS, TICKS_PER_MINUTE, demo_configs
from schemas.common import LIVE_RUN, to_epoch_ms
from schemas.config import AlgorithmConfig
from schemas.settings import Settings

# The flows, Kafka and ClickHouse are imported inside the commands that use them, so that
# `strikeflow --help` and the quick commands start in a fraction of a second.

console = Console(stderr=True)
feed_app = typer.Typer(no_args_is_help=True, help="Market data into the ticks topic.")


def _bootstrap(settings: Settings, what: str) -> str:
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter(
            f"{what} needs a broker that outlives this command: start one with "
            "`strikeflow broker` and set STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS to its address"
        )
    return settings.kafka_bootstrap_servers


def _symbols(text: str) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise typer.BadParameter("give at least one symbol")
    return symbols


def _time(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        value: int = to_epoch_ms(text)
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(f"{option}: {error}") from None
    return value


@feed_app.command("simulate")
def feed_simulate(
    symbols: Annotated[str, typer.Option(help="Comma-separated tickers.")] = ",".join(SYMBOLS),
    start: Annotated[
        str, typer.Option(help="First session date (YYYY-MM-DD; weekends are skipped).")
    ] = SESSION_DAY.isoformat(),
    days: Annotated[int, typer.Option(min=1, max=260)] = 1,
    seed: Annotated[int, typer.Option(help="Same seed, same ticks.")] = 7,
    ticks_per_minute: Annotated[float, typer.Option(min=0.1, help="Per symbol.")] = 60.0,
    realtime: Annotated[
        bool, typer.Option("--realtime/--fast", help="Pace by event time, or as fast as possible.")
    ] = False,
    speed: Annotated[float, typer.Option(min=0.01, help="Event-time speed-up in real time.")] = 1.0,
    heartbeat_ms: Annotated[int, typer.Option(min=10)] = 1000,
    now: Annotated[
        bool, typer.Option("--now", help="Shift the sessions so that the first opens now.")
    ] = False,
    options: Annotated[
        bool, typer.Option("--options", help="Also write option-chain quotes to market.options.")
    ] = False,
    options_interval_seconds: Annotated[int, typer.Option(min=1)] = 300,
) -> None:
    """Simulated ticks (stochastic volatility, jumps, intraday patterns) into the ticks topic."""
    from flows.chain import ChainParams
    from flows.feed import feed_writer, realtime_pacer, simulated_sessions
    from flows.simulator import SimParams

    settings = Settings()
    bootstrap = _bootstrap(settings, "feed simulate")
    try:
        first = date.fromisoformat(start)
    except ValueError as error:
        raise typer.BadParameter(f"--start: {error}") from None
    if (options_interval_seconds * 1000) % heartbeat_ms:
        raise typer.BadParameter("--options-interval-seconds must be a multiple of the heartbeat")
    wants_quotes = options or settings.option_quotes
    writer = feed_writer(
        bootstrap,
        settings,
        chains=ChainParams(seed=seed + 1) if wants_quotes else None,  # the market's surface
        chain_interval_ms=options_interval_seconds * 1000,
        heartbeat_ms=heartbeat_ms,
        pace=realtime_pacer(speed) if realtime else None,
    )
    params = SimParams(seed=seed, ticks_per_minute=ticks_per_minute)
    shift = 0
    if now:
        from flows.simulator import session_bounds

        opens, _ = session_bounds(first, params.timezone)
        shift = time.time_ns() // 1_000_000 - opens  # wall-clock ok: "now" is the point here
    for ticks in simulated_sessions(_symbols(symbols), first, days, params, shift):
        writer.write_ticks(ticks)
    stats = writer.finish()
    console.print(
        f"wrote {stats.ticks:,} ticks and {stats.heartbeats:,} heartbeats to {writer.topic}"
    )
    if writer.options is not None and writer.options.quotes:
        console.print(f"wrote {writer.options.quotes:,} option quotes to {writer.options.topic}")


@feed_app.command("replay")
def feed_replay(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet of ticks or bars.")],
    symbol: Annotated[
        str | None, typer.Option(help="The symbol, if the file has no symbol column.")
    ] = None,
    realtime: Annotated[bool, typer.Option("--realtime/--fast")] = False,
    speed: Annotated[float, typer.Option(min=0.01)] = 1.0,
) -> None:
    """A recorded file into the ticks topic; unusable rows go to the dead-letter topic."""
    from flows.feed import feed_writer, realtime_pacer, rejected_rows, write_file_ticks
    from flows.tick_file import TickFileError, read_ticks

    settings = Settings()
    bootstrap = _bootstrap(settings, "feed replay")
    try:
        ticks = read_ticks(file, symbol)
    except TickFileError as error:
        raise typer.BadParameter(str(error)) from None
    topic = settings.topics.ticks
    writer = feed_writer(bootstrap, settings, pace=realtime_pacer(speed) if realtime else None)
    write_file_ticks(writer, ticks)
    first_ts = int(ticks.ts[0]) if len(ticks) else 946_684_800_000
    for letter in rejected_rows(str(file), ticks, first_ts):
        writer.producer.produce(settings.topics.deadletter, letter.model_dump_json().encode())
    stats = writer.finish()
    console.print(
        f"replayed {stats.ticks:,} ticks into {topic}; {len(ticks.rejected):,} rows rejected"
        + (f" (see {settings.topics.deadletter})" if ticks.rejected else "")
    )


def load_configs(path: Path) -> list[AlgorithmConfig]:
    """One config (a mapping) or several (a list, or a mapping with `accounts`), YAML or JSON."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise typer.BadParameter(f"--config {path}: {error}") from None
    if isinstance(data, dict) and "accounts" in data:
        data = data["accounts"]
    items = data if isinstance(data, list) else [data]
    for number, item in enumerate(items):
        if isinstance(item, dict):
            item.setdefault("account_id", path.stem if len(items) == 1 else f"{path.stem}-{number}")
    try:
        return TypeAdapter(list[AlgorithmConfig]).validate_python(items)
    except ValidationError as error:
        raise typer.BadParameter(f"--config {path}: {error}") from None


def backtest(
    config: Annotated[Path, typer.Option(help="Algorithm config(s), YAML or JSON.")],
    file: Annotated[
        Path | None, typer.Option(help="Replay this CSV/Parquet instead of the ticks topic.")
    ] = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol of a single-symbol file.")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Start (ISO-8601 with zone, or epoch ms).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="End, exclusive.")] = None,
    sweep: Annotated[
        list[str] | None, typer.Option(help="NAME=V1,V2,...: one account per combination.")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Default: a hash of the inputs.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print metrics and trades as JSON.")
    ] = False,
) -> None:
    """Replay a range of the ticks topic (or a file) through the flow with a config."""
    from flows.backtest import Source, parse_sweep, run_backtest, sweep_configs

    settings = Settings()
    configs = load_configs(config)
    if sweep:
        if len(configs) != 1:
            raise typer.BadParameter("--sweep needs a config file with a single config")
        try:
            configs = sweep_configs(configs[0], parse_sweep(sweep))
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
    source = Source(
        file=file, symbol=symbol, from_ts=_time(from_, "--from"), to_ts=_time(to, "--to")
    )
    if file is not None and not file.exists():
        raise typer.BadParameter(f"--file {file} does not exist")
    bootstrap = None if file else _bootstrap(settings, "a topic backtest")
    with Progress(
        TextColumn("[bold]backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
    ) as progress:
        task = progress.add_task("replay", total=None)
        result = run_backtest(
            settings,
            configs,
            source,
            bootstrap=bootstrap,
            run_id=run_id,
            workers=workers,
            on_progress=lambda done, total: progress.update(
                task, completed=done, total=total or None
            ),
            report_dir=settings.data_dir / "reports",
        )
    ranked = sorted(result.accounts, key=lambda r: r.metrics.get("total_return", 0.0), reverse=True)
    if as_json:
        print(
            json.dumps(
                {
                    "run_id": result.run.run_id,
                    "status": result.run.status.value,
                    "ticks": result.run.ticks,
                    "report": result.run.report_path,
                    "accounts": [
                        {
                            "account_id": r.account_id,
                            "metrics": r.metrics,
                            "trades": [t.model_dump(mode="json") for t in r.trades],
                        }
                        for r in ranked
                    ],
                }
            )
        )
        return
    table = Table(title=f"backtest {result.run.run_id}: {result.run.ticks:,} messages")
    names = ("total_return", "sharpe", "max_drawdown", "win_rate", "profit_factor", "trade_count")
    table.add_column("rank", justify="right")
    table.add_column("account")
    for name in names:
        table.add_column(name, justify="right")
    for rank, r in enumerate(ranked, 1):
        table.add_row(str(rank), r.account_id, *(f"{r.metrics.get(n, 0.0):,.4f}" for n in names))
    Console().print(table)
    console.print(f"report: {result.run.report_path}")


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    days: Annotated[int, typer.Option(min=1, max=20, help="Sessions to simulate.")] = 1,
    workers: Annotated[int, typer.Option(min=1, max=8)] = 2,
) -> None:
    """The main job on the embedded default: simulate a session, trade it live, summarise."""
    from bytewax.run import cli_main

    from api.broker import kafka_cluster
    from api.summary import print_summary, run_summary
    from flows.feed import MARKET_CHAINS, feed_writer, simulated_sessions
    from flows.graph import build_flow
    from flows.live import live_spec
    from flows.report import write_report
    from flows.simulator import SimParams
    from schemas.db import connect, migrate
    from sinks.store import insert

    settings = Settings()
    configs = demo_configs()
    client = connect(settings.dsn, settings.clickhouse_database)
    migrate(client)
    insert(client, list(configs))
    with kafka_cluster(settings) as bootstrap:
        console.print(f"broker {bootstrap}; ClickHouse {settings.dsn}")
        chains = MARKET_CHAINS if settings.option_quotes else None
        writer = feed_writer(bootstrap, settings, chains=chains)
        params = SimParams(ticks_per_minute=TICKS_PER_MINUTE)
        for ticks in simulated_sessions(SYMBOLS, SESSION_DAY, days, params):
            writer.write_ticks(ticks)
        stats = writer.finish()
        del writer  # its producer must go before the broker does
        console.print(f"simulated {stats.ticks:,} ticks of {', '.join(SYMBOLS)}; trading them live")
        spec = live_spec(settings, bootstrap, configs, bounded=True)
        cli_main(build_flow(spec), workers_per_process=workers)  # type: ignore[no-untyped-call]
        gc.collect()  # the flow's Kafka clients, before the broker stops
    summary, results = run_summary(client, LIVE_RUN, configs)
    report = write_report(
        settings.data_dir / "reports", "demo", results, f"simulated {SESSION_DAY}"
    )
    summary["report"] = str(report)
    client.close()
    if as_json:
        print(json.dumps(summary))
        return
    print_summary(Console(), summary, f"demo session {SESSION_DAY}")
    console.print(f"report: {report}; data: {settings.dsn}")


def register(app: typer.Typer) -> None:
    app.add_typer(feed_app, name="feed")
    app.command("backtest")(backtest)
    app.command("demo")(demo)
