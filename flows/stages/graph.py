"""The one dataflow graph behind live trading, backtests and the demo.

    ticks (Kafka topic or file) [+ option quotes] -> decode -> market stage (per channel)
        -> every account shard (merge in event order, accounts) -> ClickHouse and Kafka
    control topic -> decode -> the account shards

Each stage adapts a pure module: flows.sources.decode, flows.stages.market, flows.stages.shard.
Rows are gathered per table for up to `sink_max_seconds` or `sink_max_batches` batches and
written together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream

from flows.accounts.state import AccountParams, Outputs
from flows.sources.broker_watch import BrokerWatch
from flows.sources.decode import Decoded, decode_commands, decode_option_quotes, decode_ticks
from flows.sources.file import FILE_CHANNEL
from flows.sources.kafka import RawBatch
from flows.sources.tick_file import FileFormat
from flows.stages import observe
from flows.stages.arrivals import stamp
from flows.stages.inputs import BatchKafkaSource, TickFileSource
from flows.stages.market import ChannelState, MarketOutput, MarketParams, market_step
from flows.stages.rows import (
    account_messages,
    account_rows,
    dead_letter_messages,
    greeks_rows,
    market_messages,
    model_rows,
    tick_rows,
)
from flows.stages.shard import ShardState, new_shard, on_commands, on_market, shard_of
from flows.trading.chain import ChainParams, ChainSample
from schemas.common import LIVE_RUN, BarFill, TradingStatus
from schemas.config import AlgorithmConfig, ControlCommand, InstrumentKind
from schemas.settings import Settings
from schemas.tables import Rows
from schemas.trading import DeadLetter
from sinks.clickhouse.sink import ClickHouseSink, SinkFailures
from sinks.gather import gather
from sinks.kafka.admin import topic_partitions
from sinks.kafka.output import KafkaOutput


@dataclass
class FlowSpec:
    """Everything a run of the graph needs; built by the live, backtest and demo entry points."""

    run_id: str
    settings: Settings
    configs: list[AlgorithmConfig]
    bootstrap: str | None = None  # None: no Kafka at all (a file backtest)
    bounded: bool = False  # stop at the end of the input instead of tailing it
    start_offsets: list[int] | None = None
    from_ts: int | None = None
    to_ts: int | None = None
    tick_file: Path | None = None
    file_format: FileFormat = field(default_factory=FileFormat)
    read_control: bool = True
    write_kafka: bool = True
    chain: ChainParams = field(default_factory=ChainParams)
    progress: Callable[[int], None] | None = None  # messages consumed, per batch
    # Called with (decision id, ns from the source's poll to produce()) per measured decision.
    flow_latency: Callable[[str, int], None] | None = None
    stop: threading.Event | None = None  # set: every input ends as if it had reached its end
    initial_status: dict[str, TradingStatus] = field(default_factory=dict)  # by account
    sink_failures: SinkFailures | None = None  # None: a refused insert raises in the worker
    store_ticks: bool = True  # write the input ticks to market_ticks (a file has them already)

    option_start_offsets: list[int] | None = None
    watch: BrokerWatch | None = None  # the Kafka readers' broker checks (live flows)
    # False: this process writes no ClickHouse rows; they cross to the owner (flows.runs.cluster)
    clickhouse_owner: bool = True

    @property
    def shards(self) -> list[str]:
        return [f"shard-{i}" for i in range(self.settings.account_shards)]

    @property
    def option_quotes(self) -> bool:
        """Option quotes come from their topic; a file backtest prices the synthetic chain."""
        return self.settings.option_quotes and self.tick_file is None


def _channels(spec: FlowSpec) -> list[str]:
    if spec.tick_file is not None:
        return [FILE_CHANNEL]
    assert spec.bootstrap is not None
    topics = [spec.settings.topics.ticks]
    if spec.option_quotes:
        topics.append(spec.settings.topics.options)
    return [f"{t}:{p}" for t in topics for p in range(topic_partitions(spec.bootstrap, t))]


def _in_range(decoded: Decoded, lo: int | None, hi: int | None) -> Decoded:
    """Keep the rows whose own event time is in [lo, hi)."""
    if lo is None and hi is None:
        return decoded
    ticks = decoded.ticks
    keep = (ticks.raw_ts >= (lo if lo is not None else ticks.raw_ts.min(initial=0))) & (
        ticks.raw_ts < (hi if hi is not None else 1 << 62)
    )
    if not keep.all():
        decoded.ticks = ticks.take(keep)
    return decoded


def _market_topic(
    flow: Dataflow, spec: FlowSpec, step: str, topic: str, start_offsets: list[int] | None
) -> Stream[RawBatch]:
    """A market-data topic read in the spec's batches, from `start_offsets` on."""
    assert spec.bootstrap is not None
    settings = spec.settings
    source = BatchKafkaSource(
        spec.bootstrap,
        topic,
        bounded=spec.bounded,
        start_offsets=start_offsets,
        batch_size=settings.batch_size,
        poll_seconds=settings.poll_ms / 1000,
        stop=spec.stop,
        watch=spec.watch,
    )
    return op.input(step, flow, source)


def _option_input(flow: Dataflow, spec: FlowSpec) -> Stream[Decoded]:
    topic = spec.settings.topics.options
    raw = _market_topic(flow, spec, "options", topic, spec.option_start_offsets)

    def decode(batch: RawBatch) -> Decoded:
        return _in_range(decode_option_quotes(batch, spec.chain), spec.from_ts, spec.to_ts)

    return op.map("decode_options", raw, decode)


def _tick_input(flow: Dataflow, spec: FlowSpec) -> Stream[Decoded]:
    settings = spec.settings
    if spec.tick_file is not None:
        source = TickFileSource(
            spec.tick_file,
            form=spec.file_format,
            chunk=settings.batch_size,
            from_ts=spec.from_ts,
            to_ts=spec.to_ts,
            stop=spec.stop,
        )
        return op.input("ticks", flow, source)
    raw = _market_topic(flow, spec, "ticks", settings.topics.ticks, spec.start_offsets)
    known: set[str] = set()  # symbols already checked against the pattern, on this worker

    def decode(batch: RawBatch) -> Decoded:
        decoded = _in_range(decode_ticks(batch, known), spec.from_ts, spec.to_ts)
        decoded.arrived_ns = batch.arrived_ns
        return decoded

    return op.map("decode", raw, decode)


def _control_input(flow: Dataflow, spec: FlowSpec) -> tuple[Stream[Any], Stream[DeadLetter]]:
    assert spec.bootstrap is not None
    raw = op.input(
        "control",
        flow,
        BatchKafkaSource(
            spec.bootstrap,
            spec.settings.topics.control,
            batch_size=100,
            stop=spec.stop,
            watch=spec.watch,
        ),
    )
    decoded = op.map("decode_control", raw, decode_commands)
    shards = spec.settings.account_shards

    def by_shard(item: tuple[list[ControlCommand], list[DeadLetter]]) -> Iterable[Any]:
        commands, _ = item
        grouped: dict[str, list[ControlCommand]] = {}
        for command in commands:
            grouped.setdefault(shard_of(command.account_id, shards), []).append(command)
        return [(shard, (shard, batch)) for shard, batch in grouped.items()]

    dead = op.flat_map("control_dead", decoded, lambda item: item[1])
    return op.flat_map("control_by_shard", decoded, by_shard), dead


def option_symbols(configs: Iterable[AlgorithmConfig]) -> frozenset[str]:
    """The symbols some account trades as options: the chains worth sampling."""
    return frozenset(
        symbol
        for config in configs
        if config.selection.kind == InstrumentKind.OPTION
        for symbol in config.symbols
    )


def _params(spec: FlowSpec) -> tuple[MarketParams, AccountParams]:
    settings = spec.settings
    market = MarketParams(
        run_id=spec.run_id,
        chain=spec.chain,
        greeks_interval_ms=settings.greeks_interval_seconds * 1000,
        greeks_price_move=settings.greeks_price_move,
        option_topic=settings.topics.options if spec.option_quotes else None,
        greeks_symbols=None if settings.greeks_all_symbols else option_symbols(spec.configs),
    )
    account = AccountParams(
        run_id=spec.run_id,
        chain=spec.chain,
        snapshot_interval_ms=settings.snapshot_interval_seconds * 1000,
        exchange_tz=settings.exchange_timezone,
        option_quotes=spec.option_quotes,
        option_quote_max_age_ms=settings.option_quote_max_age_seconds * 1000,
        fills_at_next_quote=spec.tick_file is not None
        and spec.file_format.fill == BarFill.NEXT_OPEN,
    )
    return market, account


@dataclass
class Stages:
    """The trading stages' output streams, before any sink."""

    market: Stream[Any]  # (channel, (MarketOutput, Greeks samples, market_ticks rows))
    accounts: Stream[Any]  # (shard, Outputs)
    table_rows: Stream[tuple[str, Rows]]  # (table, rows) for ClickHouse


def trading_stages(
    spec: FlowSpec,
    channels: list[str],
    decoded: Stream[Decoded],
    commands: Stream[Any] | None = None,
) -> Stages:
    """The market stage per channel, every account shard, and their rows per table.

    `commands` are (shard, (shard, [ControlCommand, ...])) items; tests feed both inputs from
    Bytewax's TestingSource.
    """
    market_params, account_params = _params(spec)
    market_out = _market_stage(spec, decoded, market_params)
    account_out = _account_stage(spec, channels, market_out, commands, account_params)
    table_rows = op.merge(
        "table_rows",
        op.flat_map("market_rows", market_out, lambda kv: _market_tables(kv[1], spec.run_id)),
        op.flat_map(
            "account_rows",
            account_out,
            lambda kv: list(account_rows(kv[1], spec.run_id)),
        ),
    )
    return Stages(market_out, account_out, table_rows)


MarketItem = tuple[MarketOutput, list[ChainSample], Rows | None]


def _market_stage(spec: FlowSpec, decoded: Stream[Decoded], params: MarketParams) -> Stream[Any]:
    """(channel, (MarketOutput, chain samples, market_ticks rows)) per input batch."""

    def market(state: ChannelState | None, batch: Decoded) -> tuple[ChannelState, MarketItem]:
        state, output, samples = market_step(state, batch, params)
        output.update.arrived_ns = batch.arrived_ns
        ticks = output.update.ticks
        # Option quotes are kept as the Greeks of their chains (flows.stages.shard.price_chains).
        stored = spec.store_ticks and not params.is_options(ticks.channel)
        if stored and ticks.quote_only is not None:  # a bar's open is not a tick of the file
            ticks = ticks.take(~ticks.quote_only)
        rows = tick_rows(ticks, spec.run_id) if stored else None
        return state, (output, samples, rows)

    by_channel = op.key_on("by_channel", decoded, lambda d: d.ticks.channel)
    return op.stateful_map("market", by_channel, market)


def _account_stage(
    spec: FlowSpec,
    channels: list[str],
    market_out: Stream[Any],
    commands: Stream[Any] | None,
    params: AccountParams,
) -> Stream[Any]:
    """(shard, Outputs): every market update fans out to every shard, commands to theirs.

    Without a command stream no account can be added, so a shard hosting none (and not pricing
    the quoted chains) would only merge rows for nobody: it gets no updates at all."""
    shards = spec.shards
    configs_by_shard: dict[str, list[AlgorithmConfig]] = {shard: [] for shard in shards}
    for config in spec.configs:
        configs_by_shard[shard_of(config.account_id, spec.settings.account_shards)].append(config)
    working = [
        shard
        for shard in shards
        if commands is not None or configs_by_shard[shard] or _prices_chains(spec, shard)
    ]
    updates = op.flat_map(
        "to_shards",
        market_out,
        lambda kv: [(shard, (shard, kv[1][0].update)) for shard in working],
    )
    # The flow's own latency is measured where decisions are produced to Kafka (arrivals.py).
    timed = spec.write_kafka and spec.bootstrap is not None
    ticks_topic = spec.settings.topics.ticks

    def accounts(state: ShardState | None, item: tuple[str, Any]) -> tuple[ShardState, Outputs]:
        shard, payload = item  # the payload carries its shard so a new state knows its accounts
        state = state or new_shard(
            channels,
            configs_by_shard[shard],
            spec.initial_status,
            price_chains=_prices_chains(spec, shard),
        )
        if isinstance(payload, list):
            return state, on_commands(state, payload, params)
        if not timed:
            return state, on_market(state, payload, params)
        state.arrivals.note(payload)
        return state, stamp(on_market(state, payload, params), state.arrivals, ticks_topic)

    shard_inputs = [updates] if commands is None else [updates, commands]
    return op.stateful_map("accounts", op.merge("shard_in", *shard_inputs), accounts)


def _prices_chains(spec: FlowSpec, shard: str) -> bool:
    """Whether `shard` writes the quoted chains' Greeks (the first, with option quotes fed)."""
    return spec.option_quotes and shard == spec.shards[0]


def _market_tables(item: MarketItem, run_id: str) -> list[tuple[str, Rows]]:
    output, samples, ticks = item
    rows: list[tuple[str, Rows]] = []
    if ticks is not None and len(ticks):
        rows.append((ticks.table, ticks))
    greeks = greeks_rows(samples, run_id)
    if greeks is not None:
        rows.append((greeks.table, greeks))
    rows.extend(model_rows(list(output.alerts)))
    return rows


def _observe(spec: FlowSpec, stages: Stages, control_dead: Any) -> None:
    """Prometheus counts of the flow (flows/stages/observe.py). The market's and the accounts'
    are the live run's only: a backtest in the same process (serve's jobs) would mix its
    replayed, old event times and its ticks into the live pipeline's figures; its progress is
    in backtest_runs."""
    if spec.run_id == LIVE_RUN:
        op.inspect("observe_market", stages.market, observe.market)
        op.inspect("observe_accounts", stages.accounts, observe.accounts)
    if control_dead is not None:
        op.inspect("observe_control_dead", control_dead, observe.control_dead)


def build_flow(spec: FlowSpec) -> Dataflow:
    """The whole graph: inputs, the trading stages, ClickHouse and Kafka sinks."""
    settings = spec.settings
    flow = Dataflow("strikeflow")
    decoded = _tick_input(flow, spec)
    if spec.progress is not None:
        progress = spec.progress
        decoded = op.inspect("progress", decoded, lambda _step, d: progress(d.messages))
    commands = control_dead = None
    if spec.read_control and spec.bootstrap is not None:
        commands, control_dead = _control_input(flow, spec)
    if spec.option_quotes:
        decoded = op.merge("market_in", decoded, _option_input(flow, spec))
    stages = trading_stages(spec, _channels(spec), decoded, commands)
    market_out, account_out, table_rows = stages.market, stages.accounts, stages.table_rows
    _observe(spec, stages, control_dead)
    batches = gather(
        "gather_rows",
        table_rows,
        timeout=timedelta(seconds=settings.sink_max_seconds),
        max_size=settings.sink_max_batches,
    )
    sink = ClickHouseSink(
        settings.dsn,
        settings.clickhouse_database,
        max_partitions=settings.clickhouse_max_partitions_per_insert,
        failures=spec.sink_failures,
        owner=spec.clickhouse_owner,
    )
    op.output("clickhouse", batches, sink)

    if spec.write_kafka and spec.bootstrap is not None:
        topics = settings.topics
        messages = [
            op.flat_map(
                "account_messages", account_out, lambda kv: list(account_messages(kv[1], topics))
            ),
            op.flat_map(
                "market_messages", market_out, lambda kv: list(market_messages(kv[1][0], topics))
            ),
        ]
        if control_dead is not None:
            messages.append(
                op.flat_map(
                    "control_dead_messages",
                    control_dead,
                    lambda letter: list(dead_letter_messages([letter], topics)),
                )
            )
        op.output(
            "kafka",
            op.key_on("kafka_output", op.merge("kafka_messages", *messages), lambda _: "out"),
            KafkaOutput(spec.bootstrap, on_latency=spec.flow_latency),
        )
    return flow
