"""The market-data feed: simulated or recorded ticks into `market.ticks` (and option quotes into
`market.options`).

Ticks are keyed by symbol and each symbol always goes to the same partition (a stable hash,
not librdkafka's default, so partition assignment is the same everywhere). Every
`heartbeat_ms` of event time, and once at the end, every partition gets a heartbeat: the
promise that nothing earlier follows, which lets the flow's ordered merge move on even when a
partition is quiet. Each message's Kafka timestamp is its event time, so brokers that index
time can seek a backtest's start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import orjson
from confluent_kafka import Producer

from flows.sim.simulator import (
    SimParams,
    SymbolState,
    option_quote_sizes,
    simulate_session,
    stable_hash,
    trading_days,
)
from flows.sources.tick_file import FileTicks
from flows.trading.chain import ChainParams, synthesize_chain
from flows.trading.ticks import NO_SIZE, TickColumns, mid_price
from schemas.settings import Settings


@dataclass(slots=True)
class FeedStats:
    ticks: int = 0
    heartbeats: int = 0
    rejected: int = 0
    first_ts: int | None = None
    last_ts: int | None = None

    def add(self, ts: np.ndarray) -> None:
        if len(ts):
            self.ticks += len(ts)
            self.first_ts = int(ts[0]) if self.first_ts is None else self.first_ts
            self.last_ts = int(ts[-1])


def partition_of(symbol: str, partitions: int) -> int:
    return stable_hash(symbol) % partitions


def produce_retrying(
    producer: Producer, topic: str, value: bytes, key: bytes | None, partition: int, ts: int
) -> None:
    """Produce one message, waiting while librdkafka's local queue is full."""
    while True:
        try:
            producer.produce(topic, value, key, partition=partition, timestamp=ts)
            return
        except BufferError:  # the local queue is full: let librdkafka send some
            producer.poll(0.05)


class TickWriter:
    """Produces columns of ticks in time order, with heartbeats, optionally paced in real time."""

    def __init__(
        self,
        producer: Producer,
        topic: str,
        partitions: int,
        heartbeat_ms: int = 1000,
        pace: Callable[[int], None] | None = None,
        options: OptionWriter | None = None,
    ):
        if options is not None and options.interval_ms % heartbeat_ms:
            raise ValueError("the option-quote interval must be a multiple of the heartbeat")
        self.producer = producer
        self.topic = topic
        self.partitions = partitions
        self.heartbeat_ms = heartbeat_ms
        self.pace = pace
        self.options = options
        self.stats = FeedStats()
        self._next_heartbeat: int | None = None

    def write(
        self,
        ts: np.ndarray,
        codes: np.ndarray,
        symbols: tuple[str, ...],
        bid: np.ndarray,
        ask: np.ndarray,
        last: np.ndarray,
        volume: np.ndarray,
        sizes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Ticks as `market.ticks` messages; `sizes` (bid and ask sizes, NO_SIZE for a tick
        without) adds `bid_size` and `ask_size` to the ticks that quote them."""
        if not len(ts):
            return
        if self._next_heartbeat is None:
            self._next_heartbeat = (int(ts[0]) // self.heartbeat_ms + 1) * self.heartbeat_ms
        keys = [symbol.encode() for symbol in symbols]
        parts = [partition_of(symbol, self.partitions) for symbol in symbols]
        beats = np.arange(self._next_heartbeat, int(ts[-1]) + 1, self.heartbeat_ms)
        cuts = np.searchsorted(ts, beats, side="left")  # ticks before each heartbeat
        start = 0
        for beat, cut in zip([*beats.tolist(), None], [*cuts.tolist(), len(ts)], strict=True):
            self._produce_rows(
                ts, codes, symbols, keys, parts, (bid, ask, last, volume), sizes, start, cut
            )
            if self.options is not None:
                self.options.observe(codes[start:cut], symbols, bid[start:cut], ask[start:cut])
            start = cut
            if beat is not None:
                if self.options is not None and beat % self.options.interval_ms == 0:
                    self.options.write_chains(beat)
                self.heartbeat(beat)
        self.stats.add(ts)

    def write_ticks(self, ticks: TickColumns, part: slice = slice(None)) -> None:
        """`write` the rows `part` of `ticks`."""
        self.write(
            ticks.ts[part],
            ticks.codes[part],
            ticks.symbols,
            ticks.bid[part],
            ticks.ask[part],
            ticks.last[part],
            ticks.volume[part],
            None
            if ticks.bid_size is None or ticks.ask_size is None
            else (ticks.bid_size[part], ticks.ask_size[part]),
        )

    def _produce_rows(
        self,
        ts: np.ndarray,
        codes: np.ndarray,
        symbols: tuple[str, ...],
        keys: list[bytes],
        parts: list[int],
        quotes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        sizes: tuple[np.ndarray, np.ndarray] | None,
        start: int,
        stop: int,
    ) -> None:
        if start >= stop:
            return
        if self.pace is not None:
            self.pace(int(ts[start]))
        produce, dumps = self.producer.produce, orjson.dumps
        bid, ask, last, volume = quotes
        rows = zip(
            ts[start:stop].tolist(),
            codes[start:stop].tolist(),
            bid[start:stop].tolist(),
            ask[start:stop].tolist(),
            last[start:stop].tolist(),
            volume[start:stop].tolist(),
            strict=True,
        )
        quoted = (
            None
            if sizes is None
            else (sizes[0][start:stop].tolist(), sizes[1][start:stop].tolist())
        )
        for i, (t, code, b, a, px, vol) in enumerate(rows):
            tick = {"symbol": symbols[code], "ts": t, "bid": b, "ask": a, "last": px, "volume": vol}
            if quoted is not None and quoted[0][i] != NO_SIZE:
                tick["bid_size"], tick["ask_size"] = quoted[0][i], quoted[1][i]
            value = dumps(tick)
            try:  # `produce_retrying` inlined: this runs for every tick
                produce(self.topic, value, keys[code], partition=parts[code], timestamp=t)
            except BufferError:
                produce_retrying(self.producer, self.topic, value, keys[code], parts[code], t)
            if i % 10_000 == 0:
                self.producer.poll(0)

    def heartbeat(self, ts: int) -> None:
        value = orjson.dumps({"kind": "heartbeat", "ts": ts})
        for partition in range(self.partitions):
            produce_retrying(self.producer, self.topic, value, None, partition, ts)
        if self.options is not None:
            self.options.heartbeat(value, ts)
        self.stats.heartbeats += 1
        self._next_heartbeat = ts + self.heartbeat_ms

    def finish(self, end_ts: int | None = None) -> FeedStats:
        """A last heartbeat after the last tick, then wait until the broker has everything."""
        final = end_ts if end_ts is not None else (self.stats.last_ts or 0) + 1
        if self.stats.last_ts is None or final > self.stats.last_ts:
            self.heartbeat(final)
        remaining = self.producer.flush(60)
        if remaining:
            raise RuntimeError(f"{remaining} messages were not delivered to {self.topic}")
        return self.stats


class FeedStoppedError(Exception):
    """Raised out of the pacer's wait when the feed is stopped, to unwind the writer."""


def realtime_pacer(
    speed: float = 1.0, stop: threading.Event | None = None
) -> Callable[[int], None]:
    """Wait so that event time advances `speed` times as fast as the wall clock. Setting `stop`
    interrupts the wait (a simulated night is a long one) with `FeedStoppedError`."""
    anchor: list[float] = []
    interrupt = stop or threading.Event()

    def pace(event_ts: int) -> None:
        now = time.monotonic()  # wall-clock ok: pacing the feed, not trading logic
        if not anchor:
            anchor.extend((now, event_ts / 1000))
        due = anchor[0] + (event_ts / 1000 - anchor[1]) / speed
        if interrupt.wait(max(due - now, 0.0)):
            raise FeedStoppedError

    return pace


def simulated_sessions(
    symbols: list[str], first_day: date, days: int, params: SimParams, shift_ms: int = 0
) -> Iterable[TickColumns]:
    carry: dict[str, SymbolState] = {}
    for day in trading_days(first_day, days):
        ticks, carry = simulate_session(symbols, day, params, carry)
        if shift_ms:
            ticks.ts = ticks.ts + shift_ms
        yield ticks


def write_file_ticks(writer: TickWriter, ticks: FileTicks, chunk: int = 50_000) -> None:
    for part in ticks.chunks(chunk):
        writer.write_ticks(ticks, part)


# The simulated market's volatility surface: not the flow's model (ChainParams()), so a flow
# that reads the quotes trades at prices its own model would not have given.
MARKET_CHAINS = ChainParams(seed=8)


class OptionWriter:
    """Option quotes into `market.options`, driven by a `TickWriter`.

    Every `interval_ms` of event time (a multiple of the tick writer's heartbeat), each symbol's
    whole chain as `OptionQuote`s at that time, priced at the symbol's latest mid (keyed by
    underlying, one partition per underlying); and the tick writer's heartbeats on every
    partition, so a flow that reads option quotes can merge past quiet ones. With `params`
    None it writes the heartbeats only (a tick file replayed to a flow that reads quotes).

    The chain parameters are the market's, not necessarily the flow's model: a flow reading
    these quotes sees where its synthetic chain and the market disagree. With `quote_sizes`,
    every quote also has a `bid_size` and an `ask_size` in contracts
    (flows.sim.simulator.option_quote_sizes); the prices are the same either way.
    """

    def __init__(
        self,
        producer: Producer,
        topic: str,
        partitions: int,
        params: ChainParams | None,
        interval_ms: int = 300_000,
        quote_sizes: bool = False,
    ):
        self.producer = producer
        self.topic = topic
        self.partitions = partitions
        self.params = params
        self.interval_ms = interval_ms
        self.quote_sizes = quote_sizes
        self.quotes = 0
        self._mids: dict[str, float] = {}

    def observe(
        self, codes: np.ndarray, symbols: tuple[str, ...], bid: np.ndarray, ask: np.ndarray
    ) -> None:
        """Note each symbol's latest mid among these ticks (in time order)."""
        if not len(codes) or self.params is None:
            return
        backwards = codes[::-1]
        found, first = np.unique(backwards, return_index=True)
        for code, back in zip(found.tolist(), first.tolist(), strict=True):
            row = len(codes) - 1 - back
            self._mids[symbols[code]] = float(mid_price(bid[row], ask[row]))

    def write_chains(self, at: int) -> None:
        if self.params is None:
            return
        for symbol in sorted(self._mids):
            chain = synthesize_chain(symbol, self._mids[symbol], at, self.params)
            key, partition = symbol.encode(), partition_of(symbol, self.partitions)
            sizes = (
                option_quote_sizes(symbol, at, self.params.seed, len(chain))
                if self.quote_sizes
                else None
            )
            for i in range(len(chain)):
                quote: dict[str, object] = {
                    "underlying": symbol,
                    "ts": at,
                    "expiry": str(chain.expiry[i]),
                    "strike": float(chain.strike[i]),
                    "right": "call" if chain.is_call[i] else "put",
                    "bid": float(chain.bid[i]),
                    "ask": float(chain.ask[i]),
                }
                if sizes is not None:
                    quote["bid_size"], quote["ask_size"] = int(sizes[0][i]), int(sizes[1][i])
                value = orjson.dumps(quote)
                produce_retrying(self.producer, self.topic, value, key, partition, at)
            self.quotes += len(chain)
        self.producer.poll(0)

    def heartbeat(self, value: bytes, ts: int) -> None:
        for partition in range(self.partitions):
            produce_retrying(self.producer, self.topic, value, None, partition, ts)


def feed_writer(
    bootstrap: str,
    settings: Settings,
    *,
    chains: ChainParams | None = None,
    chain_interval_ms: int = 300_000,
    heartbeat_ms: int = 1000,
    pace: Callable[[int], None] | None = None,
    quote_sizes: bool = False,
) -> TickWriter:
    """A tick writer for the configured topics (created if missing). Option quotes go along when
    `chains` is given (with sizes when `quote_sizes`); heartbeats go to the options topic too
    when the flow reads it (`settings.option_quotes`) or quotes are written."""
    from sinks.kafka.admin import ensure_topics, producer, topic_partitions

    topics = settings.topics
    ensure_topics(bootstrap, topics.partitions(settings.ticks_partitions))
    kafka = producer(bootstrap)
    options = None
    if chains is not None or settings.option_quotes:
        partitions = topic_partitions(bootstrap, topics.options)
        options = OptionWriter(
            kafka, topics.options, partitions, chains, chain_interval_ms, quote_sizes
        )
    return TickWriter(
        kafka,
        topics.ticks,
        topic_partitions(bootstrap, topics.ticks),
        heartbeat_ms=heartbeat_ms,
        pace=pace,
        options=options,
    )
