"""`strikeflow feed ...`: market data into the ticks topic, simulated or replayed from a file.

The feed writers (numpy, pyarrow, Kafka) are imported when a command runs, at the top of its
function, so that `strikeflow --help` does not load them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import bootstrap_servers, console
from flows.runs.demo import SESSION_DAY, SYMBOLS
from schemas.common import wall_clock_ms
from schemas.settings import Settings

feed_app = typer.Typer(no_args_is_help=True, help="Market data into the ticks topic.")


def symbol_list(text: str) -> list[str]:
    """Comma-separated tickers, at least one."""
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise typer.BadParameter("give at least one symbol")
    return symbols


def first_session(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"--start: {error}") from None


@feed_app.command("simulate")
def simulate(
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
    quote_sizes: Annotated[
        bool,
        typer.Option(
            "--quote-sizes",
            help="Quotes (ticks and option quotes) carry bid and ask sizes (orders fill at "
            "most those).",
        ),
    ] = False,
) -> None:
    """Simulated ticks (stochastic volatility, jumps, intraday patterns) into the ticks topic."""
    from flows.sim.feed import feed_writer, realtime_pacer, simulated_sessions
    from flows.sim.simulator import SimParams, session_bounds
    from flows.trading.chain import ChainParams

    settings = Settings()
    bootstrap = bootstrap_servers(settings, "feed simulate")
    first = first_session(start)
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
        quote_sizes=quote_sizes,
    )
    params = SimParams(seed=seed, ticks_per_minute=ticks_per_minute, quote_sizes=quote_sizes)
    shift = 0
    if now:
        opens, _ = session_bounds(first, params.timezone)
        shift = wall_clock_ms() - opens  # wall-clock ok: "now" is the point here
    for ticks in simulated_sessions(symbol_list(symbols), first, days, params, shift):
        writer.write_ticks(ticks)
    stats = writer.finish()
    console.print(
        f"wrote {stats.ticks:,} ticks and {stats.heartbeats:,} heartbeats to {writer.topic}"
    )
    if writer.options is not None and writer.options.quotes:
        console.print(f"wrote {writer.options.quotes:,} option quotes to {writer.options.topic}")


@feed_app.command("replay")
def replay(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet of ticks or bars.")],
    symbol: Annotated[
        str | None, typer.Option(help="The symbol, if the file has no symbol column.")
    ] = None,
    realtime: Annotated[bool, typer.Option("--realtime/--fast")] = False,
    speed: Annotated[float, typer.Option(min=0.01)] = 1.0,
) -> None:
    """A recorded file into the ticks topic; unusable rows go to the dead-letter topic."""
    from flows.sim.feed import feed_writer, realtime_pacer, write_file_ticks
    from flows.sources.tick_file import FileFormat, TickFileError, read_ticks, rejected_rows

    settings = Settings()
    bootstrap = bootstrap_servers(settings, "feed replay")
    try:
        ticks = read_ticks(file, FileFormat(symbol, exchange_tz=settings.exchange_timezone))
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


def register(app: typer.Typer) -> None:
    """Add the `feed` command group to the `strikeflow` CLI."""
    app.add_typer(feed_app, name="feed")
