"""The rows an account emits on its per-event path (signal, decision, order, fill) are built
without validation (`schemas.own_rows`); for random inputs each must be the very row that
validating the same values gives: equal, with the same value types, the same JSON and the same
set fields."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from flows.accounts.context import AccountContext
from flows.accounts.legs import Leg
from flows.accounts.state import AccountParams, Outputs, new_account
from flows.trading.orchestrator import APPROVED, Verdict
from flows.trading.orders import RestingOrder
from flows.trading.portfolio import ClosedTrade, FillOutcome, FillRequest
from flows.trading.strategies import RawSignal
from schemas.common import (
    AssetClass,
    Direction,
    ExitReason,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingStatus,
)
from schemas.config import AlgorithmConfig, MovingAverageCross
from schemas.trading import Decision, Fill, OrderEvent, Signal, TradingState

TS = st.integers(0, 4_102_444_800_000)
PRICE = st.floats(0.0001, 1e6, allow_nan=False, allow_infinity=False)
QUANTITY = st.integers(1, 10_000_000)
NAME = st.sampled_from(["AAPL", "BRK.B", "AAPL261218C00190000", "X"])
ID = st.text("abcXYZ019_.:-", min_size=1, max_size=60).filter(lambda s: s[0].isalnum())
REASON = st.text(max_size=1200)
CENTS = st.integers(-(10**12), 10**12)


def _context(account: str, run: str, version: int) -> AccountContext:
    config = AlgorithmConfig(
        account_id=account, version=version, symbols=["AAPL"], strategy=MovingAverageCross()
    )
    return AccountContext(new_account(config), AccountParams(run_id=run), Outputs())


def _same_row(built: BaseModel, validated: BaseModel) -> None:
    assert built == validated
    assert type(built) is type(validated)
    assert [(k, type(v)) for k, v in built.__dict__.items()] == [
        (k, type(v)) for k, v in validated.__dict__.items()
    ]
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == validated.model_fields_set


CONTEXT = st.builds(
    _context,
    st.sampled_from(["acct-1", "a_2"]),
    st.sampled_from(["live", "bt-7"]),
    st.integers(1, 5),
)


@settings(max_examples=150, deadline=None)
@given(
    ctx=CONTEXT,
    ts=TS,
    signal_id=ID,
    direction=st.sampled_from(list(Direction)),
    strength=st.floats(-2.0, 3.0, allow_nan=False),
    price=PRICE,
    reason=REASON,
    indicators=st.dictionaries(
        st.sampled_from(["fast_sma", "slow_sma", "rsi"]), st.floats(-1e6, 1e6, allow_nan=False)
    ),
)
def test_a_signal_row_is_the_validated_row(
    ctx: AccountContext,
    ts: int,
    signal_id: str,
    direction: Direction,
    strength: float,
    price: float,
    reason: str,
    indicators: dict[str, float],
) -> None:
    raw = RawSignal(0, direction, strength, reason, indicators)
    ctx.emit_signal(signal_id, ts, "AAPL", raw, price)
    expected = Signal(
        signal_id=signal_id,
        run_id=ctx.run_id,
        account_id=ctx.account_id,
        ts=ts,
        symbol="AAPL",
        strategy="ma_cross(10,30)",
        direction=direction,
        strength=min(max(strength, 0.0), 1.0),
        price=price,
        reason=reason[:1000],
        indicators=indicators,
        config_version=ctx.state.config.version,
    )
    _same_row(ctx.out.signals[0], expected)


LEG = st.builds(
    Leg,
    instrument=NAME,
    underlying=st.just("AAPL"),
    asset_class=st.sampled_from(list(AssetClass)),
    multiplier=st.sampled_from([1, 100]),
    side=st.sampled_from(list(Side)),
    quantity=st.integers(0, 10_000_000),
    opens=st.booleans(),
    bid=PRICE,
    ask=PRICE,
    mid=PRICE,
    delta=st.floats(-1, 1),
    vega=st.floats(0, 1),
)
VERDICT = st.one_of(
    st.just(APPROVED),
    st.builds(
        Verdict,
        approved=st.just(False),
        rule=st.sampled_from(["max_abs_delta", "cooldown", "position_size"]),
        observed=st.one_of(st.integers(0, 10**6), st.floats(-1e9, 1e9)),
        limit=st.one_of(st.integers(0, 10**6), st.floats(-1e9, 1e9)),
        reason=REASON,
    ),
)


@settings(max_examples=150, deadline=None)
@given(ctx=CONTEXT, ts=TS, decision_id=ID, signal_id=ID, leg=LEG, verdict=VERDICT)
def test_a_decision_row_is_the_validated_row(
    ctx: AccountContext, ts: int, decision_id: str, signal_id: str, leg: Leg, verdict: Verdict
) -> None:
    ctx.emit_decision(decision_id, signal_id, ts, leg, verdict)
    expected = Decision(
        decision_id=decision_id,
        signal_id=signal_id,
        run_id=ctx.run_id,
        account_id=ctx.account_id,
        ts=ts,
        symbol=leg.underlying,
        instrument=leg.instrument,
        side=leg.side,
        quantity=leg.quantity,
        price=leg.price,
        approved=verdict.approved,
        rule=verdict.rule,
        observed=float(verdict.observed),
        limit=float(verdict.limit),
        reason=verdict.reason[:1000],
        config_version=ctx.state.config.version,
    )
    _same_row(ctx.out.decisions[0], expected)


@st.composite
def resting_orders(draw: st.DrawFn) -> RestingOrder:
    quantity = draw(QUANTITY)
    filled = draw(st.integers(0, quantity))
    optional = st.one_of(st.none(), PRICE)
    return RestingOrder(
        order_id=draw(ID),
        instrument=draw(NAME),
        underlying="AAPL",
        asset_class=draw(st.sampled_from(list(AssetClass))),
        multiplier=draw(st.sampled_from([1, 100])),
        side=draw(st.sampled_from(list(Side))),
        quantity=quantity,
        order_type=draw(st.sampled_from(list(OrderType))),
        time_in_force=draw(st.sampled_from(list(TimeInForce))),
        purpose=draw(st.sampled_from(["entry", "signal", "stop_loss", "kill_switch"])),
        placed_ts=draw(TS),
        active_ts=0,
        limit_price=draw(optional),
        stop_price=draw(optional),
        trail_amount=draw(optional),
        trail_percent=draw(st.one_of(st.none(), st.floats(0.001, 0.5))),
        decision_id=draw(st.one_of(st.just(""), ID)),
        parent_id=draw(st.one_of(st.just(""), ID)),
        oco_group=draw(st.one_of(st.just(""), ID)),
        filled=filled,
        filled_value=filled * draw(PRICE),
        sequence=draw(st.integers(0, 1000)),
        status=draw(st.sampled_from(list(OrderStatus))),
    )


@settings(max_examples=150, deadline=None)
@given(ctx=CONTEXT, order=resting_orders(), ts=TS, reason=REASON, command_id=ID)
def test_an_order_row_is_the_validated_row(
    ctx: AccountContext, order: RestingOrder, ts: int, reason: str, command_id: str
) -> None:
    sequence = order.sequence
    expected = OrderEvent(
        event_id=f"{order.order_id}:{sequence}",
        order_id=order.order_id,
        sequence=sequence,
        decision_id=order.decision_id,
        parent_id=order.parent_id,
        oco_group=order.oco_group,
        run_id=ctx.run_id,
        account_id=ctx.account_id,
        ts=ts,
        placed_ts=order.placed_ts,
        instrument=order.instrument,
        underlying=order.underlying,
        asset_class=order.asset_class,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        purpose=order.purpose,
        quantity=order.quantity,
        filled_quantity=order.filled,
        avg_fill_price=round(order.avg_fill_price, 6),
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        trail_amount=order.trail_amount,
        trail_percent=order.trail_percent,
        status=order.status,
        reason=reason[:1000],
        command_id=command_id,
    )
    ctx.emit_order_event(order, ts, reason, command_id)
    _same_row(ctx.out.order_events[0], expected)
    assert order.sequence == sequence + 1


@settings(max_examples=150, deadline=None)
@given(
    ctx=CONTEXT,
    ts=TS,
    fill_id=ID,
    order_id=ID,
    instrument=NAME,
    asset_class=st.sampled_from(list(AssetClass)),
    side=st.sampled_from(list(Side)),
    quantity=QUANTITY,
    ticks=st.integers(0, 10**10),
    commission=st.integers(0, 10**9),
    slippage=CENTS,
    realised=CENTS,
    reason=st.sampled_from(["signal", "stop_loss", "expiry"]),
    exit_reason=st.sampled_from(list(ExitReason)),
    spread_id=st.one_of(st.just(""), ID),
)
def test_a_fill_row_is_the_validated_row(
    ctx: AccountContext,
    ts: int,
    fill_id: str,
    order_id: str,
    instrument: str,
    asset_class: AssetClass,
    side: Side,
    quantity: int,
    ticks: int,
    commission: int,
    slippage: int,
    realised: int,
    reason: str,
    exit_reason: ExitReason,
    spread_id: str,
) -> None:
    price = ticks / 10_000  # booked prices lie on the 0.0001 grid
    request = FillRequest(ts, instrument, "AAPL", asset_class, 1, side, quantity, price, commission)
    no_trades: tuple[ClosedTrade, ...] = ()
    outcome = FillOutcome(request, price, 0, realised, no_trades)
    ctx.emit_fill(
        outcome,
        fill_id=fill_id,
        order_id=order_id,
        slippage_cents=slippage,
        reason=reason,
        exit_reason=exit_reason,
        spread_id=spread_id,
    )
    values: dict[str, Any] = {
        "fill_id": fill_id,
        "order_id": order_id,
        "run_id": ctx.run_id,
        "account_id": ctx.account_id,
        "ts": ts,
        "instrument": instrument,
        "underlying": "AAPL",
        "asset_class": asset_class,
        "side": side,
        "quantity": quantity,
        "price": price,
        "multiplier": 1,
        "commission": commission / 100,
        "slippage": slippage / 100,
        "realised_pnl": (realised - commission) / 100,
        "reason": reason,
        "exit_reason": exit_reason,
        "spread_id": spread_id,
    }
    _same_row(ctx.out.fills[0], Fill(**values))


@settings(max_examples=150, deadline=None)
@given(
    ctx=CONTEXT,
    ts=TS,
    status=st.sampled_from(list(TradingStatus)),
    reason=REASON,
    command_id=st.text("abc019-", max_size=128),
    cash_cents=CENTS,
    equity_cents=CENTS,
    versions=st.integers(0, 5),
)
def test_a_state_row_is_the_validated_row(
    ctx: AccountContext,
    ts: int,
    status: TradingStatus,
    reason: str,
    command_id: str,
    cash_cents: int,
    equity_cents: int,
    versions: int,
) -> None:
    state = ctx.state
    state.status, state.status_reason, state.command_id = status, reason, command_id
    state.book.cash_cents, state.equity = cash_cents, equity_cents / 100
    state.version = versions
    ctx.record_state(ts)
    expected = TradingState(
        run_id=ctx.run_id,
        account_id=ctx.account_id,
        ts=ts,
        status=status,
        reason=reason[:1000],
        command_id=command_id,
        config_version=state.config.version,
        version=versions + 1,
        equity=equity_cents / 100,
        cash=cash_cents / 100,
        open_positions=0,
    )
    _same_row(ctx.out.states[0], expected)
