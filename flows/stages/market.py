"""The market stage: one input channel's ticks, checked for order, timed, and sampled for Greeks.

Keyed by channel (a topic partition), so it sees the channel's batches in offset order. It
  - dead-letters a tick older than the previous tick of the same symbol (out of order);
  - gives every row its processing time: the running maximum of the channel's event times, so
    time never goes backwards within a channel even when symbols interleave slightly late;
  - samples the synthetic option chain's Greeks per symbol, when a configurable stretch of event
    time has passed or the price has moved by a configurable fraction since the last sample
    (with option quotes fed, the first account shard prices the quoted chains instead);
  - raises alerts for a stale symbol (no tick for a while of event time) and for a high rate of
    bad input, at event times that do not depend on where batches are cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flows.sources.decode import Decoded
from flows.trading.chain import ChainParams, ChainSample, synthesize_chain
from flows.trading.ticks import HEARTBEAT, TickBatch, mid_price
from schemas.common import MARKET_ACCOUNT, MIN_TS_MS, Severity
from schemas.trading import Alert, DeadLetter


@dataclass(slots=True)
class MarketUpdate:
    """One channel's progress, fanned out to every account shard.

    `watermark` promises that no later row of this channel has an earlier event time; at the
    end of a bounded input it is `None`, meaning the channel is finished.
    """

    ticks: TickBatch
    watermark: int | None
    arrived_ns: int = 0  # when the source had the batch (monotonic; only for the latency metric)


@dataclass(slots=True)
class MarketOutput:
    """What the market stage produces for one batch."""

    update: MarketUpdate
    greeks: list[object] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MarketParams:
    run_id: str
    chain: ChainParams = field(default_factory=ChainParams)
    greeks_interval_ms: int = 60_000
    greeks_price_move: float = 0.005
    stale_after_ms: int = 60_000
    bad_window: int = 1000  # messages per bad-input-rate window
    bad_rate: float = 0.01  # alert when more than this fraction of a window is bad
    # With option quotes fed, their channels are checked and timed like ticks, but staleness
    # and Greeks do not apply to them; the shards price the quoted chains instead of the model.
    option_topic: str | None = None
    # The symbols whose synthetic chain is sampled (those an account trades as options); None
    # samples every symbol. Pricing a chain nobody trades was most of a stock backtest's time.
    greeks_symbols: frozenset[str] | None = None

    def is_options(self, channel: str) -> bool:
        return self.option_topic is not None and channel.rpartition(":")[0] == self.option_topic


@dataclass(slots=True)
class SymbolClock:
    last_raw_ts: int  # the symbol's latest event time, for the out-of-order check
    last_seen: int  # processing time of the symbol's latest tick, for staleness
    greeks_ts: int | None = None
    greeks_spot: float = 0.0
    stale_alerted: bool = False


@dataclass(slots=True)
class ChannelState:
    watermark: int | None = None
    symbols: dict[str, SymbolClock] = field(default_factory=dict)
    messages: int = 0  # messages seen, for bad-input-rate windows
    window_bad: int = 0
    known_symbols: set[str] = field(default_factory=set)


def market_step(
    state: ChannelState | None, decoded: Decoded, params: MarketParams
) -> tuple[ChannelState, MarketOutput, list[ChainSample]]:
    state = state or ChannelState()
    ticks = decoded.ticks
    dead = list(decoded.dead)
    ticks, late = _drop_out_of_order(state, ticks)
    dead.extend(late)

    start = state.watermark if state.watermark is not None else np.iinfo(np.int64).min
    processing = np.maximum.accumulate(np.concatenate([[start], ticks.ts]))[1:]
    ticks.ts = processing.astype(np.int64)
    if len(ticks):
        state.watermark = int(processing[-1])

    beats = ticks.codes == HEARTBEAT
    quotes = ticks.take(~beats) if beats.any() else ticks
    alerts: list[Alert] = []
    samples: list[ChainSample] = []
    if params.option_topic is None:
        alerts = _stale_alerts(state, quotes, params)
        samples = _sample_greeks(state, quotes, params)
    elif not params.is_options(ticks.channel):
        alerts = _stale_alerts(state, quotes, params)
    # A bar file's opens (--fill next-open) are not messages: the rate counts the bars alone.
    bars = ticks if ticks.quote_only is None else ticks.take(~ticks.quote_only)
    alerts.extend(_bad_input_alerts(state, decoded, dead, bars, start, params))

    watermark = None if ticks.eof else state.watermark
    output = MarketOutput(
        update=MarketUpdate(ticks=quotes, watermark=watermark), dead=dead, alerts=alerts
    )
    return state, output, samples


def _drop_out_of_order(state: ChannelState, ticks: TickBatch) -> tuple[TickBatch, list[DeadLetter]]:
    keep = np.ones(len(ticks), dtype=bool)
    dead: list[DeadLetter] = []
    for code in _present_codes(ticks):
        symbol = ticks.symbols[code]
        rows = np.flatnonzero(ticks.codes == code)
        raw = ticks.raw_ts[rows]
        clock = state.symbols.get(symbol)
        previous = clock.last_raw_ts if clock is not None else np.iinfo(np.int64).min
        running = np.maximum.accumulate(np.concatenate([[previous], raw]))
        late = raw < running[:-1]
        for row, ts, before in zip(rows[late], raw[late], running[:-1][late], strict=True):
            keep[row] = False
            dead.append(
                DeadLetter(
                    topic=ticks.channel.rpartition(":")[0],
                    partition=ticks.partition,
                    offset=int(ticks.offsets[row]),
                    ts=int(ts),
                    key=symbol,
                    raw_b64="",
                    reason=f"out of order: ts {ts} is earlier than the previous {symbol} tick "
                    f"at {before}",
                )
            )
        newest = int(running[-1])
        if clock is None:
            state.symbols[symbol] = SymbolClock(last_raw_ts=newest, last_seen=0)
        else:
            clock.last_raw_ts = newest
    if len(dead):
        return ticks.take(keep), dead
    return ticks, dead


def _present_codes(ticks: TickBatch) -> list[int]:
    """The symbol codes that occur in the batch, ascending (heartbeats are not symbols)."""
    quoted = ticks.codes[ticks.codes != HEARTBEAT]
    if not len(quoted):
        return []
    present: list[int] = np.flatnonzero(np.bincount(quoted)).tolist()
    return present


def _stale_alerts(state: ChannelState, quotes: TickBatch, params: MarketParams) -> list[Alert]:
    """A symbol is stale once `stale_after_ms` of channel time pass without a tick from it.

    The alert's time is when the silence crossed the limit, known exactly from the data, and its
    id names the tick the silence began after, so whichever batch reports it, the row is the
    same.
    """
    alerts: list[Alert] = []
    for code, symbol in enumerate(quotes.symbols):
        times = quotes.ts[quotes.codes == code]
        if not len(times):
            continue
        clock = state.symbols[symbol]
        # Silences that ended inside this batch: gaps between consecutive ticks of the symbol,
        # the first one measured from its last tick in an earlier batch (if any).
        starts = np.concatenate([[clock.last_seen], times[:-1]]) if clock.last_seen else times[:-1]
        ends = times if clock.last_seen else times[1:]
        for began in starts[(ends - starts) > params.stale_after_ms]:
            if began == clock.last_seen and clock.stale_alerted:
                continue  # reported by an earlier batch, while the silence was still going on
            alerts.append(_stale_alert(params, quotes.channel, symbol, int(began)))
        clock.last_seen = int(times[-1])
        clock.stale_alerted = False
    if state.watermark is not None:
        for symbol, clock in state.symbols.items():
            silent = (
                bool(clock.last_seen) and state.watermark - clock.last_seen > params.stale_after_ms
            )
            if silent and not clock.stale_alerted:
                clock.stale_alerted = True
                alerts.append(_stale_alert(params, quotes.channel, symbol, clock.last_seen))
    return alerts


def _stale_alert(params: MarketParams, channel: str, symbol: str, last_seen: int) -> Alert:
    seconds = params.stale_after_ms / 1000
    return Alert(
        alert_id=f"{params.run_id}:market:stale_feed:{symbol}:{last_seen}",
        run_id=params.run_id,
        account_id=MARKET_ACCOUNT,
        ts=last_seen + params.stale_after_ms,
        severity=Severity.WARNING,
        kind="stale_feed",
        message=f"no {symbol} tick on {channel} for {seconds:g}s of event time",
        value=seconds,
        threshold=seconds,
    )


def _sample_greeks(
    state: ChannelState, quotes: TickBatch, params: MarketParams
) -> list[ChainSample]:
    samples: list[ChainSample] = []
    for code, symbol in enumerate(quotes.symbols):
        if params.greeks_symbols is not None and symbol not in params.greeks_symbols:
            continue
        rows = np.flatnonzero(quotes.codes == code)
        if not len(rows):
            continue
        clock = state.symbols[symbol]
        times, spots = quotes.ts[rows], mid_price(quotes.bid[rows], quotes.ask[rows])
        start = 0
        while start < len(rows):
            if clock.greeks_ts is None:
                hit = start
            else:
                due = (times[start:] - clock.greeks_ts >= params.greeks_interval_ms) | (
                    np.abs(spots[start:] / clock.greeks_spot - 1.0) >= params.greeks_price_move
                )
                if not due.any():
                    break
                hit = start + int(np.argmax(due))
            row = int(rows[hit])
            clock.greeks_ts, clock.greeks_spot = int(times[hit]), float(spots[hit])
            chain = synthesize_chain(symbol, float(spots[hit]), int(times[hit]), params.chain)
            samples.append(ChainSample(quotes.partition, int(quotes.offsets[row]), chain))
            start = hit + 1
    return samples


def _bad_input_alerts(
    state: ChannelState,
    decoded: Decoded,
    dead: list[DeadLetter],
    timed: TickBatch,
    before: int,
    params: MarketParams,
) -> list[Alert]:
    """Every `bad_window` messages of the channel, alert if more than `bad_rate` were bad.

    The alert's time is the processing time of the last usable row up to the window's end
    (`before`, the time before this batch, if there is none in it): the same for any cut.
    """
    alerts: list[Alert] = []
    if not decoded.messages:
        return alerts
    raw_offsets = decoded.raw_offsets
    bad_positions = np.sort(np.searchsorted(raw_offsets, [d.offset for d in dead]))
    first = state.messages
    state.messages += decoded.messages
    window = params.bad_window
    cursor = 0
    for end in range((first // window + 1) * window, state.messages + 1, window):
        last_position = end - first - 1  # index into this batch of the window's last message
        upto = int(np.searchsorted(bad_positions, last_position, side="right"))
        bad = state.window_bad + (upto - cursor)
        cursor, state.window_bad = upto, 0
        if bad / window > params.bad_rate:
            last_offset = int(raw_offsets[last_position])
            at = int(np.searchsorted(timed.offsets, last_offset, side="right")) - 1
            ts = int(timed.ts[at]) if at >= 0 else before
            if ts < MIN_TS_MS:
                continue  # nothing usable has arrived on this channel yet
            alerts.append(
                Alert(
                    alert_id=f"{params.run_id}:market:bad_input_rate:{timed.channel}:{end}",
                    run_id=params.run_id,
                    account_id=MARKET_ACCOUNT,
                    ts=ts,
                    severity=Severity.WARNING,
                    kind="bad_input_rate",
                    message=f"{bad} of the last {window} messages on {timed.channel} "
                    "were unusable (see the dead-letter topic)",
                    value=bad / window,
                    threshold=params.bad_rate,
                )
            )
    state.window_bad += len(bad_positions) - cursor
    return alerts
