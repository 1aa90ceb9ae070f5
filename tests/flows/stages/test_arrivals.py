"""The flow's own latency stamps: a decision finds its tick's batch arrival, and the stamp
rides beside the outputs without changing any row or message body."""

from __future__ import annotations

import numpy as np

from flows.accounts.state import Outputs
from flows.stages.arrivals import Arrivals, Stamped, stamp
from flows.stages.market import MarketUpdate
from flows.stages.rows import account_messages, account_rows
from flows.trading.ticks import TickBatch
from schemas.common import Side
from schemas.settings import Topics
from schemas.trading import Decision
from sinks.kafka.output import StampedMessage

TS = 1_795_444_200_000


def update(partition: int, first: int, count: int, arrived_ns: int) -> MarketUpdate:
    offsets = np.arange(first, first + count, dtype=np.int64)
    ts = TS + offsets
    batch = TickBatch(
        channel=f"market.ticks:{partition}",
        partition=partition,
        offsets=offsets,
        ts=ts,
        codes=np.zeros(count, dtype=np.int32),
        symbols=("AAPL",),
        bid=np.full(count, 100.0),
        ask=np.full(count, 100.02),
        last=np.full(count, 100.01),
        volume=np.ones(count, dtype=np.int64),
        raw_ts=ts,
    )
    return MarketUpdate(batch, int(ts[-1]), arrived_ns=arrived_ns)


def decision(decision_id: str) -> Decision:
    return Decision(
        decision_id=decision_id,
        signal_id="s",
        run_id="live",
        account_id="a",
        ts=TS,
        symbol="AAPL",
        instrument="AAPL",
        side=Side.BUY,
        quantity=100,
        price=100.0,
        approved=True,
        rule="approved",
        observed=0.0,
        limit=0.0,
        reason="",
        config_version=1,
    )


def test_a_decision_finds_the_arrival_of_the_batch_that_held_its_tick() -> None:
    arrivals = Arrivals()
    arrivals.note(update(0, 0, 10, arrived_ns=1_000))
    arrivals.note(update(0, 10, 5, arrived_ns=2_000))
    arrivals.note(update(1, 0, 3, arrived_ns=3_000))
    arrivals.note(update(0, 15, 5, arrived_ns=0))  # not from Kafka: not remembered
    assert arrivals.of("market.ticks:0", 0) == 1_000
    assert arrivals.of("market.ticks:0", 9) == 1_000
    assert arrivals.of("market.ticks:0", 10) == 2_000
    assert arrivals.of("market.ticks:0", 14) == 2_000
    assert arrivals.of("market.ticks:0", 15) is None
    assert arrivals.of("market.ticks:1", 2) == 3_000
    assert arrivals.of("market.ticks:2", 0) is None


def test_stamps_ride_beside_the_outputs_and_change_no_row_or_message() -> None:
    arrivals = Arrivals()
    arrivals.note(update(1, 40, 10, arrived_ns=5_000))
    timed = decision("live:a:dec:1:42:0")
    untimed = decision("live:a:dec:1:7:0")  # its batch is not remembered
    out = Outputs(decisions=[timed, untimed])
    stamped = stamp(out, arrivals, "market.ticks")
    assert isinstance(stamped, Stamped)
    assert stamped.arrived == {timed.decision_id: 5_000}
    assert list(account_rows(stamped, "live")) == list(account_rows(out, "live"))
    topics = Topics()
    plain = list(account_messages(out, topics))
    messages = list(account_messages(stamped, topics))
    assert [(m.topic, m.key, m.value) for m in messages] == [
        (m.topic, m.key, m.value) for m in plain
    ]
    assert [type(m) is StampedMessage for m in messages] == [True, False]
    assert stamp(Outputs(decisions=[untimed]), arrivals, "market.ticks") is not None
    assert not isinstance(stamp(Outputs(decisions=[untimed]), arrivals, "market.ticks"), Stamped)
