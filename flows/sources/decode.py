"""Turning raw Kafka messages into checked columns; whatever cannot be used becomes a dead letter.

The models in schemas/ are the single definition of a valid message. Decoding has a fast path
for the common shape (integer `ts`, numeric prices, known keys) that checks the same rules with
numpy over the whole batch; any message the fast path does not accept is validated by the
pydantic model, which either accepts it (e.g. an ISO timestamp) or gives the reason it is bad.
tests/unit/test_decode.py proves both paths agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import orjson
from pydantic import TypeAdapter, ValidationError

from flows.sources.decode_arrow import parse_batch
from flows.sources.kafka import RawBatch
from flows.trading.chain import ChainParams, expiry_ts_ms, occ_symbol
from flows.trading.ticks import (
    HEARTBEAT,
    NO_SIZE,
    Int64s,
    TickBatch,
    empty_i64,
    joined_column,
    mid_price,
)
from schemas.common import MAX_TS_MS, MIN_TS_MS, SYMBOL_PATTERN, Right
from schemas.config import ControlCommand
from schemas.market import MAX_SIZE, Heartbeat, OptionQuote, Tick
from schemas.topics import OptionMessage, TickMessage
from schemas.trading import DeadLetter

_TICK_KEYS = frozenset(
    {"kind", "symbol", "ts", "bid", "ask", "last", "volume", "bid_size", "ask_size"}
)
_SYMBOL = re.compile(SYMBOL_PATTERN)
_TICK_MESSAGE: TypeAdapter[Tick | Heartbeat] = TypeAdapter(TickMessage)
_OPTION_MESSAGE: TypeAdapter[OptionQuote | Heartbeat] = TypeAdapter(OptionMessage)
_MAX_VOLUME = 10**12


@dataclass(slots=True)
class Decoded:
    """What decoding one raw batch gave: the usable rows and what went to the dead letters."""

    ticks: TickBatch
    dead: list[DeadLetter] = field(default_factory=list)
    messages: int = 0
    raw_offsets: Int64s = field(default_factory=empty_i64)  # every message's offset, in order
    arrived_ns: int = 0  # the raw batch's arrival (processing time; never in a row)


def _reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
    return "; ".join(parts)[:1000]


def _dead(raw: RawBatch, i: int, why: str) -> DeadLetter:
    """The i-th message of `raw` as a dead letter."""
    return DeadLetter.of(
        raw.topic, raw.partition, raw.offsets[i], raw.timestamp(i), raw.key(i), raw.values[i], why
    )


class _BatchBuilder:
    """Accepted messages, appended one by one, for the per-message paths; `build` makes the
    channel's TickBatch of them."""

    __slots__ = (
        "ask",
        "ask_size",
        "bid",
        "bid_size",
        "codes",
        "last",
        "offsets",
        "sized",
        "symbols",
        "ts",
        "volume",
    )

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.ts: list[int] = []
        self.codes: list[int] = []
        self.bid: list[float] = []
        self.ask: list[float] = []
        self.last: list[float] = []
        self.volume: list[int] = []
        self.bid_size: list[int] = []
        self.ask_size: list[int] = []
        self.sized = False  # whether any row quoted sizes
        self.symbols: dict[str, int] = {}

    def add(
        self,
        offset: int,
        ts: int,
        symbol: str | None,
        bid: float,
        ask: float,
        last: float,
        vol: int,
        bid_size: int | None = None,
        ask_size: int | None = None,
    ) -> None:
        self.offsets.append(offset)
        self.ts.append(ts)
        if symbol is None:
            self.codes.append(HEARTBEAT)
        else:
            code = self.symbols.get(symbol)
            if code is None:
                code = self.symbols[symbol] = len(self.symbols)
            self.codes.append(code)
        self.bid.append(bid)
        self.ask.append(ask)
        self.last.append(last)
        self.volume.append(vol)
        self.bid_size.append(NO_SIZE if bid_size is None else bid_size)
        self.ask_size.append(NO_SIZE if ask_size is None else ask_size)
        self.sized = self.sized or bid_size is not None

    def build(self, raw: RawBatch) -> TickBatch:
        ts = np.array(self.ts, dtype=np.int64)
        return TickBatch(
            channel=raw.channel,
            partition=raw.partition,
            offsets=np.array(self.offsets, dtype=np.int64),
            ts=ts,
            codes=np.array(self.codes, dtype=np.int32),
            symbols=tuple(self.symbols),
            bid=np.array(self.bid, dtype=np.float64),
            ask=np.array(self.ask, dtype=np.float64),
            last=np.array(self.last, dtype=np.float64),
            volume=np.array(self.volume, dtype=np.int64),
            raw_ts=ts.copy(),
            eof=raw.eof,
            bid_size=np.array(self.bid_size, dtype=np.int64) if self.sized else None,
            ask_size=np.array(self.ask_size, dtype=np.int64) if self.sized else None,
        )


FastTick = tuple[int, str | None, float, float, float, int, int | None, int | None]


def _fast(value: object) -> FastTick | None:
    """The common message shape, unchecked prices; None sends it to the model's validation
    (so does any doubt about sizes: they are few, and the model words the reason)."""
    if type(value) is not dict or not _TICK_KEYS.issuperset(value):
        return None
    kind = value.get("kind", "tick")
    ts = value.get("ts")
    if type(ts) is not int:
        return None
    if kind == "heartbeat":
        return (ts, None, 1.0, 1.0, 1.0, 0, None, None) if len(value) == 2 else None
    if kind != "tick":
        return None
    symbol, bid, ask, last = (
        value.get("symbol"),
        value.get("bid"),
        value.get("ask"),
        value.get("last"),
    )
    volume = value.get("volume", 0)
    if (
        type(symbol) is not str
        or type(bid) not in (float, int)
        or type(ask) not in (float, int)
        or type(last) not in (float, int)
        or type(volume) is not int
    ):
        return None
    bid_size, ask_size = value.get("bid_size"), value.get("ask_size")
    sized = bid_size is not None or ask_size is not None
    if sized and not (_good_size(bid_size) and _good_size(ask_size)):
        return None
    prices = float(bid), float(ask), float(last)  # type: ignore[arg-type]
    return ts, symbol, *prices, volume, bid_size, ask_size


def _good_size(size: object) -> bool:
    return type(size) is int and 0 <= size <= MAX_SIZE


def decode_ticks(raw: RawBatch, known_symbols: set[str]) -> Decoded:
    """Decode a raw batch of `market.ticks`. `known_symbols` caches symbols already checked."""
    fast = parse_batch(raw, known_symbols)
    ticks, suspects = fast if fast is not None else _parse_each(raw, known_symbols)
    bad = _numeric_violations(ticks)
    dead: list[DeadLetter] = []
    if bad.any():
        positions = np.searchsorted(np.asarray(raw.offsets, dtype=np.int64), ticks.offsets[bad])
        suspects.extend(positions.tolist())
        ticks = ticks.take(~bad)
    if suspects:
        ticks, dead = _judge(raw, sorted(suspects), ticks, known_symbols)
    return Decoded(
        ticks=ticks,
        dead=dead,
        messages=len(raw.values),
        raw_offsets=np.asarray(raw.offsets, dtype=np.int64),
    )


def _parse_each(raw: RawBatch, known_symbols: set[str]) -> tuple[TickBatch, list[int]]:
    """Message by message: the path for batches that Arrow refused."""
    columns = _BatchBuilder()
    suspects: list[int] = []  # positions in raw that need the model's judgement
    for i, value in enumerate(raw.values):
        try:
            parsed = orjson.loads(value) if value is not None else None
        except orjson.JSONDecodeError:
            suspects.append(i)
            continue
        fast = _fast(parsed)
        if fast is None:
            suspects.append(i)
            continue
        symbol = fast[1]
        if symbol is not None and symbol not in known_symbols:
            if _SYMBOL.match(symbol) is None:
                suspects.append(i)
                continue
            known_symbols.add(symbol)
        columns.add(raw.offsets[i], *fast)
    return columns.build(raw), suspects


def _numeric_violations(ticks: TickBatch) -> np.ndarray:
    """Rows the fast path accepted whose numbers break the Tick/Heartbeat rules."""
    quote = ticks.codes != HEARTBEAT
    with np.errstate(invalid="ignore"):
        bad_price = ~(
            np.isfinite(ticks.bid)
            & np.isfinite(ticks.ask)
            & np.isfinite(ticks.last)
            & (ticks.bid > 0)
            & (ticks.ask > 0)
            & (ticks.last > 0)
            & (ticks.bid <= ticks.ask)
        )
    bad_volume = (ticks.volume < 0) | (ticks.volume > _MAX_VOLUME)
    bad_ts = (ticks.raw_ts < MIN_TS_MS) | (ticks.raw_ts > MAX_TS_MS)
    result: np.ndarray = bad_ts | (quote & (bad_price | bad_volume))
    return result


def _judge(
    raw: RawBatch, positions: list[int], ticks: TickBatch, known_symbols: set[str]
) -> tuple[TickBatch, list[DeadLetter]]:
    """Validate suspects with the model: accept what it accepts, dead-letter the rest."""
    accepted = _BatchBuilder()
    accepted.symbols = dict(zip(ticks.symbols, range(len(ticks.symbols)), strict=True))
    dead = []
    for i in positions:
        value = raw.values[i]
        try:
            message = _TICK_MESSAGE.validate_json(value or b"")
        except ValidationError as error:
            dead.append(_dead(raw, i, _reason(error)))
            continue
        if isinstance(message, Heartbeat):
            accepted.add(raw.offsets[i], message.ts, None, 1.0, 1.0, 1.0, 0)
        else:
            known_symbols.add(message.symbol)
            accepted.add(
                raw.offsets[i],
                message.ts,
                message.symbol,
                message.bid,
                message.ask,
                message.last,
                message.volume,
                message.bid_size,
                message.ask_size,
            )
    if not accepted.offsets:
        return ticks, dead
    extra = accepted.build(raw)
    merged = _concat_sorted(ticks, extra)
    return merged, dead


def _concat_sorted(first: TickBatch, second: TickBatch) -> TickBatch:
    """Both batches' rows in offset order; `second`'s symbol table extends `first`'s."""
    symbols = list(first.symbols)
    index = {symbol: i for i, symbol in enumerate(symbols)}
    remap = np.empty(len(second.symbols) + 1, dtype=np.int32)
    remap[-1] = HEARTBEAT  # codes of -1 index the last slot
    for code, symbol in enumerate(second.symbols):
        if symbol not in index:
            index[symbol] = len(symbols)
            symbols.append(symbol)
        remap[code] = index[symbol]
    offsets = np.concatenate([first.offsets, second.offsets])
    order = np.argsort(offsets, kind="stable")

    def join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a, b])[order]

    def join_sizes(name: str) -> Int64s | None:
        column = joined_column([first, second], name)
        return None if column is None else column[order]

    return TickBatch(
        channel=first.channel,
        partition=first.partition,
        offsets=offsets[order],
        ts=join(first.ts, second.ts),
        codes=join(first.codes, remap[second.codes]),
        symbols=tuple(symbols),
        bid=join(first.bid, second.bid),
        ask=join(first.ask, second.ask),
        last=join(first.last, second.last),
        volume=join(first.volume, second.volume),
        raw_ts=join(first.raw_ts, second.raw_ts),
        eof=first.eof,
        bid_size=join_sizes("bid_size"),
        ask_size=join_sizes("ask_size"),
    )


def decode_option_quotes(raw: RawBatch, params: ChainParams) -> Decoded:
    """Option quotes as rows of a tick batch whose symbol is the contract's OCC symbol.

    `last` is the quote's mid and `volume` 0; `bid_size`/`ask_size` are the quoted sizes in
    contracts (NO_SIZE for a quote without them; None when no quote of the batch has them), as
    on a tick. Quotes arrive a chain at a time, far fewer than ticks, so each is validated by
    the model (a size without its pair, negative or not an integer is a dead letter with the
    model's reason). A contract that expires at or before the quote's own time is
    dead-lettered: nothing can trade it.
    """
    columns = _BatchBuilder()
    dead = []
    for i, value in enumerate(raw.values):
        try:
            message = _OPTION_MESSAGE.validate_json(value or b"")
        except ValidationError as error:
            dead.append(_dead(raw, i, _reason(error)))
            continue
        if isinstance(message, Heartbeat):
            columns.add(raw.offsets[i], message.ts, None, 1.0, 1.0, 1.0, 0)
            continue
        if expiry_ts_ms(message.expiry, params) <= message.ts:
            dead.append(_dead(raw, i, f"expiry {message.expiry}: the contract has expired"))
            continue
        try:
            contract = occ_symbol(
                message.underlying, message.expiry, message.right == Right.CALL, message.strike
            )
        except ValueError as error:
            dead.append(_dead(raw, i, str(error)))
            continue
        mid = mid_price(message.bid, message.ask)
        columns.add(
            raw.offsets[i],
            message.ts,
            contract,
            message.bid,
            message.ask,
            mid,
            0,
            message.bid_size,
            message.ask_size,
        )
    return Decoded(columns.build(raw), dead, len(raw.values), np.asarray(raw.offsets))


def decode_commands(raw: RawBatch) -> tuple[list[ControlCommand], list[DeadLetter]]:
    """Control commands are few: every one goes through the model."""
    commands, dead = [], []
    for i, value in enumerate(raw.values):
        try:
            commands.append(ControlCommand.model_validate_json(value or b""))
        except ValidationError as error:
            dead.append(_dead(raw, i, _reason(error)))
    return commands, dead
