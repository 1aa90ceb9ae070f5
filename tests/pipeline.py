"""The flow's stages wired by hand, without Bytewax: for tests of outputs that must not depend
on where batches are cut or in which order channels arrive."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

import numpy as np
import orjson

from flows.accounts.state import AccountParams, Outputs
from flows.sim.feed import MARKET_CHAINS, OptionWriter
from flows.sim.simulator import SimParams, simulate_session
from flows.sources.decode import Decoded, decode_option_quotes
from flows.sources.kafka import RawBatch
from flows.stages.market import ChannelState, MarketParams, market_step
from flows.stages.shard import ShardState, new_shard, on_commands, on_market
from flows.trading.chain import ChainParams, occ_symbol
from flows.trading.ticks import TickBatch, TickColumns
from schemas.common import TradingStatus
from schemas.config import AlgorithmConfig, ControlCommand

# The simulated market's surface (flows.sim.feed) with fewer expiries and strikes: the tests
# that feed quotes need the contracts the accounts select (7 days, deltas 0.2-0.4), not the
# whole chain, and decoding the whole one is most of their time.
SMALL_MARKET = replace(MARKET_CHAINS, weekly_expiries=2, monthly_expiries=1, strikes_each_side=6)

RUN = "test"
OPTIONS = "options"


def session(
    symbols: list[str], day: date, ticks_per_minute: float = 5.0, seed: int = 7
) -> TickColumns:
    ticks, _ = simulate_session(
        symbols, day, SimParams(seed=seed, ticks_per_minute=ticks_per_minute)
    )
    return ticks


def channel_batches(ticks: TickColumns, batch_size: int) -> dict[int, list[Decoded]]:
    """Each symbol on its own channel (partition = symbol index), cut every `batch_size` rows;
    the last batch of each channel marks its end."""
    batches: dict[int, list[Decoded]] = {}
    for code in range(len(ticks.symbols)):
        rows = np.flatnonzero(ticks.codes == code)
        parts = []
        for start in range(0, len(rows), batch_size):
            chosen = rows[start : start + batch_size]
            batch = TickBatch(
                channel=f"ticks:{code}",
                partition=code,
                offsets=np.arange(start, start + len(chosen), dtype=np.int64),
                ts=ticks.ts[chosen].copy(),
                codes=np.zeros(len(chosen), dtype=np.int32),
                symbols=(ticks.symbols[code],),
                bid=ticks.bid[chosen],
                ask=ticks.ask[chosen],
                last=ticks.last[chosen],
                volume=ticks.volume[chosen],
                raw_ts=ticks.ts[chosen].copy(),
                eof=start + batch_size >= len(rows),
                bid_size=None if ticks.bid_size is None else ticks.bid_size[chosen],
                ask_size=None if ticks.ask_size is None else ticks.ask_size[chosen],
            )
            parts.append(Decoded(ticks=batch, messages=len(chosen), raw_offsets=batch.offsets))
        batches[code] = parts
    return batches


class Recorder:
    """Collects what a feed writer produces, in order: (topic, value, key, partition, ts)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bytes | None, int, int]] = []

    def produce(
        self, topic: str, value: bytes, key: bytes | None, partition: int, timestamp: int
    ) -> None:
        self.messages.append((topic, value, key, partition, timestamp))

    def poll(self, _timeout: float) -> int:
        return 0


def option_messages(
    ticks: TickColumns, market: ChainParams, interval_ms: int = 300_000, quote_sizes: bool = False
) -> list[bytes]:
    """The option quotes and heartbeats that flows.sim.feed writes for `ticks`, on one partition
    (with `quote_sizes`, quotes with sizes)."""
    recorder = Recorder()
    writer = OptionWriter(recorder, OPTIONS, 1, market, interval_ms, quote_sizes)  # type: ignore[arg-type]
    first = (int(ticks.ts[0]) // interval_ms + 1) * interval_ms
    start = 0
    for at in [*range(first, int(ticks.ts[-1]) + 1, interval_ms), int(ticks.ts[-1]) + 1]:
        stop = int(np.searchsorted(ticks.ts, at, side="left"))
        writer.observe(
            ticks.codes[start:stop], ticks.symbols, ticks.bid[start:stop], ticks.ask[start:stop]
        )
        start = stop
        if at % interval_ms == 0:
            writer.write_chains(at)
        writer.heartbeat(orjson.dumps({"kind": "heartbeat", "ts": at}), at)
    return [value for _, value, _, _, _ in recorder.messages]


def quote_book(messages: Iterable[bytes]) -> dict[str, list[tuple[int, float, float]]]:
    """Every contract's quotes among `market.options` messages, in time order: (ts, bid, ask)."""
    book: dict[str, list[tuple[int, float, float]]] = {}
    for value in messages:
        quote = orjson.loads(value)
        if quote.get("kind") == "heartbeat":
            continue
        contract = occ_symbol(
            quote["underlying"],
            date.fromisoformat(quote["expiry"]),
            quote["right"] == "call",
            quote["strike"],
        )
        book.setdefault(contract, []).append((quote["ts"], quote["bid"], quote["ask"]))
    for quotes in book.values():
        quotes.sort()
    return book


def option_batches(messages: list[bytes], batch_size: int, params: ChainParams) -> list[Decoded]:
    """The messages decoded as the flow does, cut every `batch_size`; the last one ends."""
    batches = []
    for start in range(0, len(messages), batch_size):
        values: list[bytes | None] = list(messages[start : start + batch_size])
        raw = RawBatch(
            OPTIONS,
            0,
            range(start, start + len(values)),
            values=values,
            keys=[None] * len(values),
            timestamps=[0] * len(values),
            eof=start + batch_size >= len(messages),
        )
        batches.append(decode_option_quotes(raw, params))
    return batches


def run(
    ticks: TickColumns,
    configs: list[AlgorithmConfig],
    batch_size: int,
    seed: int = 0,
    commands: list[tuple[int, ControlCommand]] | None = None,
    snapshot_interval_ms: int = 60_000,
    status: dict[str, TradingStatus] | None = None,
    options: list[bytes] | None = None,
) -> dict[str, list[str]]:
    """Every output row, as sorted JSON per kind. Channels arrive in a random interleaving
    (seeded); `commands` are (after how many batches, command) pairs. With `options` (from
    `option_messages`), the flow reads those option quotes as the first shard would."""
    channels: dict[str, list[Decoded]] = {
        f"ticks:{code}": parts for code, parts in channel_batches(ticks, batch_size).items()
    }
    if options is not None:
        channels[f"{OPTIONS}:0"] = option_batches(options, batch_size, ChainParams())
    quoted = options is not None
    shard: ShardState = new_shard(list(channels), configs, status, price_chains=quoted)
    states: dict[str, ChannelState | None] = defaultdict(lambda: None)
    market = MarketParams(run_id=RUN, option_topic=OPTIONS if quoted else None)
    accounts = AccountParams(
        run_id=RUN, snapshot_interval_ms=snapshot_interval_ms, option_quotes=quoted
    )
    out = Outputs()
    market_rows: list[str] = []
    pending = {code: list(parts) for code, parts in channels.items()}
    order = random.Random(seed)
    due = sorted(commands or [], key=lambda c: c[0])
    pushed = 0
    while any(pending.values()):
        code = order.choice([c for c, parts in pending.items() if parts])
        decoded = pending[code].pop(0)
        states[code], output, samples = market_step(states[code], decoded, market)
        market_rows.extend(a.model_dump_json() for a in output.alerts)
        market_rows.extend(f"greeks:{s.chain.underlying}:{s.chain.ts}:{s.offset}" for s in samples)
        out.extend(on_market(shard, output.update, accounts))
        pushed += 1
        while due and due[0][0] <= pushed:
            out.extend(on_commands(shard, [due.pop(0)[1]], accounts))
    result = {
        name: sorted(record.model_dump_json() for record in getattr(out, name))
        for name in (
            "signals",
            "decisions",
            "order_events",
            "fills",
            "snapshots",
            "daily",
            "alerts",
            "states",
        )
    }
    result["market"] = sorted(market_rows)
    result["greeks"] = [
        f"{s.chain.underlying}:{s.chain.ts}:{s.offset}:{s.chain.spot}:{s.chain.iv.tolist()}"
        for s in out.greeks
    ]
    return result
