"""The market stage: order checks, processing time, bad-input and stale-feed alerts, Greeks."""

from __future__ import annotations

import numpy as np
import pytest

from flows.sources.decode import Decoded
from flows.stages.market import MarketParams, market_step
from flows.trading.ticks import TickBatch
from schemas.trading import DeadLetter

TS = 1_795_789_800_000
PARAMS = MarketParams(run_id="t", bad_window=10, bad_rate=0.2, stale_after_ms=5_000)


def batch(rows: list[tuple[str, int]], first_offset: int = 0, eof: bool = False) -> TickBatch:
    symbols = tuple(sorted({symbol for symbol, _ in rows}))
    n = len(rows)
    return TickBatch(
        channel="ticks:0",
        partition=0,
        offsets=np.arange(first_offset, first_offset + n, dtype=np.int64),
        ts=np.array([ts for _, ts in rows], dtype=np.int64),
        codes=np.array([symbols.index(s) for s, _ in rows], dtype=np.int32),
        symbols=symbols,
        bid=np.full(n, 100.0),
        ask=np.full(n, 100.02),
        last=np.full(n, 100.01),
        volume=np.ones(n, dtype=np.int64),
        raw_ts=np.array([ts for _, ts in rows], dtype=np.int64),
        eof=eof,
    )


def dead(offset: int) -> DeadLetter:
    return DeadLetter(topic="ticks", partition=0, offset=offset, ts=TS, raw_b64="", reason="bad")


def test_a_tick_older_than_its_symbols_last_is_dead_lettered() -> None:
    rows = [("AAPL", TS + 10), ("AAPL", TS + 5), ("MSFT", TS + 1), ("AAPL", TS + 10)]
    ticks = batch(rows)
    _, out, _ = market_step(None, Decoded(ticks, messages=4, raw_offsets=ticks.offsets), PARAMS)
    assert [d.offset for d in out.dead] == [1]
    assert "out of order" in out.dead[0].reason
    kept = out.update.ticks
    assert kept.offsets.tolist() == [0, 2, 3]
    # MSFT's tick came after a later AAPL tick: it is processed at the partition's time
    assert kept.ts.tolist() == [TS + 10, TS + 10, TS + 10]
    assert kept.raw_ts.tolist() == [TS + 10, TS + 1, TS + 10]


@pytest.mark.parametrize("cut", [1, 3, 7, 20])
def test_the_bad_input_alert_is_the_same_wherever_batches_are_cut(cut: int) -> None:
    rows = [("AAPL", TS + i * 100) for i in range(20)]
    bad_offsets = {3, 4, 5, 12}  # three in the first window of ten: above 20%
    state = None
    alerts = []
    for start in range(0, 20, cut):
        stop = min(start + cut, 20)
        good = [i for i in range(start, stop) if i not in bad_offsets]
        ticks = batch([rows[i] for i in good], eof=stop == 20)
        ticks.offsets = np.array(good, dtype=np.int64)
        decoded = Decoded(
            ticks,
            dead=[dead(i) for i in range(start, stop) if i in bad_offsets],
            messages=stop - start,
            raw_offsets=np.arange(start, stop, dtype=np.int64),
        )
        state, out, _ = market_step(state, decoded, PARAMS)
        alerts.extend(out.alerts)
    assert [(a.kind, a.ts, a.value) for a in alerts] == [("bad_input_rate", TS + 900, 0.3)]


@pytest.mark.parametrize("cut", [1, 2, 5])
def test_a_silent_symbol_raises_one_stale_alert_at_the_moment_it_went_stale(cut: int) -> None:
    rows = [("AAPL", TS), ("MSFT", TS + 1000)] + [("MSFT", TS + 1000 * k) for k in range(2, 12)]
    rows.append(("AAPL", TS + 12_000))
    state = None
    alerts = []
    for start in range(0, len(rows), cut):
        ticks = batch(rows[start : start + cut], first_offset=start)
        ticks.symbols = ("AAPL", "MSFT")
        ticks.codes = np.array(
            [0 if s == "AAPL" else 1 for s, _ in rows[start : start + cut]], dtype=np.int32
        )
        decoded = Decoded(ticks, messages=len(ticks), raw_offsets=ticks.offsets)
        state, out, _ = market_step(state, decoded, PARAMS)
        alerts.extend(out.alerts)
    stale = [(a.kind, a.ts, a.message) for a in alerts]
    assert stale == [("stale_feed", TS + 5_000, "no AAPL tick on ticks:0 for 5s of event time")]


def test_greeks_are_sampled_on_time_and_on_price_moves() -> None:
    params = MarketParams(run_id="t", greeks_interval_ms=60_000, greeks_price_move=0.01)
    rows = [("AAPL", TS + i * 10_000) for i in range(13)]
    ticks = batch(rows)
    ticks.bid = np.array([100.0] * 6 + [102.0] * 7)  # a 2% move at the seventh tick
    ticks.ask = ticks.bid + 0.02
    _, _, samples = market_step(
        None, Decoded(ticks, messages=13, raw_offsets=ticks.offsets), params
    )
    assert [s.offset for s in samples] == [0, 6, 12]
    assert all(len(s.chain) > 0 and s.chain.underlying == "AAPL" for s in samples)
