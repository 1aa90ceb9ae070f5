"""Brackets, time stops, latency, stale quotes and operator cancels in one account, worked by
hand over hand-made ticks through `advance` (the account stage's step)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.accounts.context import AccountContext
from flows.accounts.control import apply_control
from flows.accounts.legs import Leg
from flows.accounts.resting import fill_now, order_for, place
from flows.accounts.state import AccountParams, AccountState, Outputs, Quote, new_account
from flows.accounts.timeline import advance
from flows.trading.ticks import Segment
from schemas.common import ExitReason, OrderStatus, OrderType, Side
from schemas.config import (
    AlgorithmConfig,
    ControlCommand,
    Costs,
    Exits,
    MovingAverageCross,
    RiskLimits,
)

T0 = 1_795_000_000_000  # a Wednesday, 2026-11-18, during the New York session
PARAMS = AccountParams(run_id="test")
COSTS = Costs(slippage_bps=0.0, slippage_ticks=1, tick_size=0.01)  # one cent against us


def config(exits: Exits, costs: Costs = COSTS) -> AlgorithmConfig:
    return AlgorithmConfig(
        account_id="acct",
        symbols=["AAPL"],
        strategy=MovingAverageCross(fast=50, slow=200),  # no signal in a few ticks
        exits=exits,
        costs=costs,
        limits=RiskLimits(trading_hours=None),
    )


def entered(exits: Exits, costs: Costs = COSTS) -> tuple[AccountState, Outputs]:
    """100 AAPL bought at market at T0: 100.01 ask plus a cent = 100.02."""
    state = new_account(config(exits, costs))
    ctx = AccountContext(state, PARAMS, Outputs())
    state.quotes["AAPL"] = Quote(T0, 99.99, 100.01, 100.0)
    leg = Leg.equity_opening("AAPL", Side.BUY, 100, state.quotes["AAPL"])
    assert fill_now(ctx, leg, order_for(ctx, leg, "entry", T0, OrderType.MARKET), T0, "f", "s")
    return state, ctx.out


def ticks(*rows: tuple[int, float, float]) -> Segment:
    n = len(rows)
    return Segment(
        ts=np.array([T0 + r[0] for r in rows], dtype=np.int64),
        codes=np.zeros(n, dtype=np.int32),
        symbols=("AAPL",),
        bid=np.array([r[1] for r in rows]),
        ask=np.array([r[2] for r in rows]),
        last=np.array([(r[1] + r[2]) / 2 for r in rows]),
        volume=np.zeros(n, dtype=np.int64),
        partition=np.zeros(n, dtype=np.int32),
        offsets=np.arange(n, dtype=np.int64),
    )


def step(state: AccountState, seg: Segment) -> Outputs:
    return advance(state, seg, int(seg.ts[-1]) + 1, PARAMS)


def statuses(out: Outputs) -> dict[str, list[str]]:
    history: dict[str, list[str]] = {}
    for row in out.order_events:
        history.setdefault(row.purpose, []).append(row.status.value)
    return history


BRACKET = Exits(stop_loss_pct=0.05, take_profit_pct=0.10)


def test_an_entry_fill_places_its_bracket_as_one_oco_group() -> None:
    state, out = entered(BRACKET)
    assert statuses(out) == {
        "entry": ["new", "filled"],
        "take_profit": ["new"],
        "stop_loss": ["new"],
    }
    entry = next(r for r in out.order_events if r.status == OrderStatus.FILLED)
    assert (entry.filled_quantity, entry.avg_fill_price) == (100, 100.02)
    take, stop = state.pending
    assert (take.order_type, take.side, take.limit_price) == (OrderType.LIMIT, Side.SELL, 110.02)
    assert (stop.order_type, stop.side, stop.stop_price) == (OrderType.STOP, Side.SELL, 95.02)
    assert take.oco_group == stop.oco_group != ""
    assert take.parent_id == stop.parent_id == "entry"
    assert [f.exit_reason for f in out.fills] == [ExitReason.NONE]


def test_the_take_profit_fills_at_the_touch_and_cancels_the_stop() -> None:
    state, _ = entered(BRACKET)
    out = step(state, ticks((1000, 105.0, 105.02), (2000, 110.05, 110.07), (3000, 90.0, 90.02)))
    [fill] = out.fills
    assert (fill.exit_reason, fill.reason, fill.price, fill.quantity) == (
        ExitReason.TAKE_PROFIT,
        "take_profit",
        110.05,
        100,
    )
    assert fill.ts == T0 + 2000
    assert statuses(out) == {"take_profit": ["filled"], "stop_loss": ["cancelled"]}
    assert state.pending == []
    assert state.book.holdings == {}


def test_a_gap_through_the_stop_fills_at_the_first_bid_past_it() -> None:
    state, _ = entered(BRACKET)
    out = step(state, ticks((1000, 97.0, 97.02), (2000, 93.5, 93.52), (3000, 120.0, 120.02)))
    [fill] = out.fills
    assert (fill.exit_reason, fill.price, fill.ts) == (ExitReason.STOP_LOSS, 93.49, T0 + 2000)
    assert fill.realised_pnl < 0
    assert statuses(out) == {"stop_loss": ["filled"], "take_profit": ["cancelled"]}
    assert state.pending == []


def test_a_trailing_stop_follows_the_best_bid_from_the_entry_quote() -> None:
    state, _ = entered(Exits(trailing_stop_amount=1.0))
    seg = ticks((1000, 101.0, 101.02), (2000, 102.5, 102.52), (3000, 101.6, 101.62))
    out = step(state, seg)
    assert out.fills == []
    out = step(state, ticks((4000, 101.5, 101.52)))  # the stop 101.5 is reached in a new step
    [fill] = out.fills
    assert (fill.exit_reason, fill.price) == (ExitReason.TRAILING_STOP, 101.49)


def test_the_time_stop_closes_at_market_and_cancels_the_rest_of_the_bracket() -> None:
    state, _ = entered(Exits(stop_loss_pct=0.05, time_stop_seconds=60))
    out = step(state, ticks((30_000, 100.5, 100.52), (60_000, 100.6, 100.62), (61_000, 99, 99.1)))
    [fill] = out.fills
    # the boundary at T0 + 60 s comes before the tick at that time: the quote of 30 s
    assert (fill.exit_reason, fill.price, fill.ts) == (ExitReason.TIME_STOP, 100.49, T0 + 60_000)
    assert statuses(out) == {"stop_loss": ["cancelled"], "time_stop": ["new", "filled"]}
    assert state.time_stops == []
    assert state.book.holdings == {}


def test_a_market_order_waits_for_the_latency_and_fills_at_the_quote_of_that_moment() -> None:
    state = new_account(config(Exits(), COSTS.model_copy(update={"latency_ms": 1500})))
    ctx = AccountContext(state, PARAMS, Outputs())
    state.quotes["AAPL"] = Quote(T0, 99.99, 100.01, 100.0)
    leg = Leg.equity_opening("AAPL", Side.BUY, 10, state.quotes["AAPL"])
    place(ctx, order_for(ctx, leg, "late", T0, OrderType.MARKET), T0)
    out = step(state, ticks((1000, 100.5, 100.52), (1500, 100.7, 100.72), (2000, 100.9, 100.92)))
    [fill] = out.fills
    assert (fill.price, fill.ts) == (100.73, T0 + 1500)
    assert [r.status for r in ctx.out.order_events + out.order_events] == [
        OrderStatus.NEW,
        OrderStatus.FILLED,
    ]


def test_a_stale_quote_is_rejected_with_the_reason() -> None:
    state = new_account(config(Exits(), COSTS.model_copy(update={"max_quote_age_ms": 1000})))
    ctx = AccountContext(state, PARAMS, Outputs())
    state.quotes["AAPL"] = Quote(T0 - 5000, 99.99, 100.01, 100.0)
    leg = Leg.equity_opening("AAPL", Side.BUY, 10, state.quotes["AAPL"])
    assert not fill_now(ctx, leg, order_for(ctx, leg, "o", T0, OrderType.MARKET), T0, "f", "s")
    new, rejected = ctx.out.order_events
    assert (new.status, rejected.status) == (OrderStatus.NEW, OrderStatus.REJECTED)
    assert "stale quote (5,000 ms old" in rejected.reason
    assert ctx.out.fills == []
    assert state.book.holdings == {}


def cancel(order_id: str, command_id: str) -> ControlCommand:
    return ControlCommand(
        command_id=command_id,
        account_id="acct",
        ts=T0 + 10,
        action="cancel_order",  # type: ignore[arg-type]
        order_id=order_id,
        reason="too wide",
    )


def test_cancel_order_cancels_the_named_order_and_refuses_an_unknown_one() -> None:
    state, _ = entered(BRACKET)
    take, stop = state.pending
    out = apply_control(state, cancel(take.order_id, "c1"), PARAMS)
    [row] = out.order_events
    assert (row.order_id, row.status, row.reason, row.command_id) == (
        take.order_id,
        OrderStatus.CANCELLED,
        "cancelled by operator: too wide",
        "c1",
    )
    assert state.pending == [stop]
    assert out.states == []  # the account's status is untouched
    again = apply_control(state, cancel(take.order_id, "c2"), PARAMS)
    [alert] = again.alerts
    assert alert.kind == "cancel_rejected"
    assert alert.message.startswith("command c2: ")  # how GET /commands/c2 finds it
    assert take.order_id in alert.message
    assert again.order_events == []


def test_the_kill_switch_cancels_every_resting_order_with_a_row_each() -> None:
    state, _ = entered(Exits(stop_loss_pct=0.05, take_profit_pct=0.1, time_stop_seconds=60))
    kill = ControlCommand(
        command_id="k",
        account_id="acct",
        ts=T0 + 5,
        action="kill_switch",  # type: ignore[arg-type]
    )
    out = apply_control(state, kill, PARAMS)
    assert {(r.purpose, r.status) for r in out.order_events} == {
        ("kill_switch", OrderStatus.NEW),  # the position is flattened (test_kill_switch.py)
        ("kill_switch", OrderStatus.FILLED),
        ("take_profit", OrderStatus.CANCELLED),
        ("stop_loss", OrderStatus.CANCELLED),
    }
    assert state.pending == []
    assert state.time_stops == []
    assert {r.command_id for r in out.order_events} == {"k"}


@settings(max_examples=200, deadline=None)
@given(
    age=st.integers(0, 10_000),
    max_age=st.none() | st.integers(0, 10_000),
    spread=st.sampled_from([-0.02, 0.0, 0.01, 0.05]),
)
def test_a_market_order_fills_only_on_a_fresh_uncrossed_quote(
    age: int, max_age: int | None, spread: float
) -> None:
    costs = COSTS.model_copy(update={"max_quote_age_ms": max_age})
    state = new_account(config(Exits(), costs))
    ctx = AccountContext(state, PARAMS, Outputs())
    state.quotes["AAPL"] = Quote(T0 - age, 100.0, round(100.0 + spread, 2), 100.0)
    leg = Leg.equity_opening("AAPL", Side.BUY, 10, state.quotes["AAPL"])
    filled = fill_now(ctx, leg, order_for(ctx, leg, "o", T0, OrderType.MARKET), T0, "f", "s")
    assert filled == (spread >= 0 and (max_age is None or age <= max_age))  # width 0: a bar
    assert len(ctx.out.fills) == int(filled)
    assert ctx.out.order_events[-1].status == (
        OrderStatus.FILLED if filled else OrderStatus.REJECTED
    )
