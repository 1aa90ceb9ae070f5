"""The simulator's quoted sizes: off by default (the ticks are as they were), the same prices
when on, through the feed's JSON and back, and orders that fill in parts over a session
whatever the batch cuts."""

from __future__ import annotations

import json
from datetime import date

import numpy as np

from flows.sim.feed import TickWriter
from flows.sim.simulator import SimParams, simulate_session
from flows.sources.decode import decode_ticks
from flows.sources.kafka import RawBatch
from flows.trading.ticks import TickColumns
from schemas.config import AlgorithmConfig, Costs, MovingAverageCross, Sizing
from tests.flows.accounts.test_order_flow import check_invariants
from tests.pipeline import Recorder, run

DAY = date(2026, 11, 25)


def simulated(quote_sizes: bool) -> TickColumns:
    params = SimParams(seed=3, ticks_per_minute=5.0, quote_sizes=quote_sizes)
    ticks, _ = simulate_session(["AAPL", "SPY"], DAY, params)
    return ticks


def test_sizes_are_off_by_default_and_leave_the_prices_alone() -> None:
    plain, sized = simulated(False), simulated(True)
    assert plain.bid_size is None
    assert plain.ask_size is None
    for name in ("ts", "codes", "bid", "ask", "last", "volume"):
        assert np.array_equal(getattr(plain, name), getattr(sized, name)), name
    assert sized.bid_size is not None
    assert sized.ask_size is not None
    assert (sized.bid_size >= 100).all()
    assert (sized.ask_size % 100 == 0).all()


def test_the_feed_writes_sizes_that_decode_back() -> None:
    ticks = simulated(True)
    recorder = Recorder()
    writer = TickWriter(recorder, "ticks", 1, heartbeat_ms=60_000)  # type: ignore[arg-type]
    writer.write_ticks(ticks, slice(0, 50))
    values = [value for _, value, _, _, _ in recorder.messages]
    n = len(values)
    raw = RawBatch("ticks", 0, range(n), keys=[None] * n, values=values, timestamps=[0] * n)
    decoded = decode_ticks(raw, set())
    assert not decoded.dead
    quotes = decoded.ticks.take(decoded.ticks.codes >= 0)  # without the heartbeats
    assert quotes.bid_size is not None
    assert quotes.ask_size is not None
    assert quotes.bid_size.tolist() == ticks.bid_size[:50].tolist()  # type: ignore[index]
    assert quotes.ask_size.tolist() == ticks.ask_size[:50].tolist()  # type: ignore[index]


def test_orders_fill_in_parts_the_same_for_any_batch_cut() -> None:
    ticks = simulated(True)
    configs = [
        AlgorithmConfig(
            account_id=f"big-{tif}",
            symbols=["AAPL", "SPY"],
            strategy=MovingAverageCross(fast=5, slow=20, allow_short=True),
            sizing=Sizing(quantity=600),
            costs=Costs(time_in_force=tif),
        )
        for tif in ("day", "ioc", "fok")
    ]
    reference = run(ticks, configs, batch_size=1000, seed=1)
    statuses = {json.loads(row)["status"] for row in reference["order_events"]}
    assert "partially_filled" in statuses
    check_invariants(reference, configs)
    for batch_size, seed in ((1, 2), (7, 3)):
        assert run(ticks, configs, batch_size=batch_size, seed=seed) == reference
