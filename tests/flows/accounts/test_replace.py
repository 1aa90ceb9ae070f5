"""Cancel-and-replace of working orders in one account, worked by hand (hand-made ticks through
`advance`, like tests/flows/accounts/test_exits.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flows.accounts.context import AccountContext
from flows.accounts.control import apply_control
from flows.accounts.legs import Leg
from flows.accounts.resting import order_for, place
from flows.accounts.state import AccountState, Outputs, Quote, new_account
from schemas.common import ExitReason, OrderType, Side
from schemas.config import ControlCommand, Exits
from tests.flows.accounts.test_exits import BRACKET, PARAMS, T0, config, entered, step, ticks


def replace(order_id: str, command_id: str = "r1", **terms: Any) -> ControlCommand:
    return ControlCommand(
        command_id=command_id,
        account_id="acct",
        ts=T0 + 10,
        action="replace_order",  # type: ignore[arg-type]
        order_id=order_id,
        **terms,
    )


def test_a_replaced_take_profit_ends_replaced_and_its_successor_keeps_the_bracket() -> None:
    state, _ = entered(BRACKET)  # take-profit 110.02, stop-loss 95.02, 100 AAPL held
    take, stop = state.pending
    out = apply_control(state, replace(take.order_id, limit_price=105.0), PARAMS)
    old, new = out.order_events
    assert (old.order_id, old.status, old.limit_price) == (take.order_id, "replaced", 110.02)
    assert (new.status, new.limit_price, new.quantity, new.ts) == ("new", 105.0, 100, T0 + 10)
    assert new.order_id != take.order_id
    assert new.order_id in old.reason
    assert take.order_id in new.reason
    assert "r1" in new.reason
    assert (old.command_id, new.command_id) == ("r1", "r1")  # GET /commands/r1 finds both
    assert (new.purpose, new.parent_id, new.oco_group, new.order_type) == (
        "take_profit",
        take.parent_id,
        take.oco_group,
        OrderType.LIMIT,
    )
    assert [o.order_id for o in state.pending] == [stop.order_id, new.order_id]
    assert out.alerts == []
    assert out.states == []
    # the new limit fills where the old one would not have, and cancels the stop (OCO)
    later = step(state, ticks((1000, 105.0, 105.02)))
    [fill] = later.fills
    assert (fill.order_id, fill.price, fill.exit_reason) == (
        new.order_id,
        105.0,
        ExitReason.TAKE_PROFIT,
    )
    assert [(r.purpose, r.status) for r in later.order_events] == [
        ("take_profit", "filled"),
        ("stop_loss", "cancelled"),
    ]
    assert state.pending == []
    assert state.book.holdings == {}


def resting_entry(filled: int) -> tuple[AccountState, str]:
    """A limit buy of 100 AAPL at 99.00 resting, `filled` of it filled already."""
    state = new_account(config(Exits()))
    ctx = AccountContext(state, PARAMS, Outputs())
    state.quotes["AAPL"] = Quote(T0, 99.99, 100.01, 100.0)
    leg = Leg.equity_opening("AAPL", Side.BUY, 100, state.quotes["AAPL"])
    order = order_for(ctx, leg, "buy", T0, OrderType.LIMIT, limit_price=99.0)
    order.filled, order.filled_value = filled, 99.0 * filled
    place(ctx, order, T0)
    return state, order.order_id


def test_the_new_quantity_is_the_total_and_the_successor_works_what_is_left() -> None:
    state, order_id = resting_entry(filled=30)
    out = apply_control(state, replace(order_id, quantity=80, limit_price=99.5), PARAMS)
    old, new = out.order_events
    assert (old.status, old.quantity, old.filled_quantity) == ("replaced", 100, 30)
    assert (new.status, new.quantity, new.filled_quantity, new.limit_price) == ("new", 50, 0, 99.5)
    [working] = state.pending
    assert (working.quantity, working.filled, working.active_ts) == (50, 0, T0 + 10)


@pytest.mark.parametrize(
    ("terms", "why"),
    [
        ({"quantity": 30}, "quantity 30 leaves nothing to work: 30 filled already"),
        ({"quantity": 10}, "quantity 10 leaves nothing to work"),
        ({"stop_price": 98.0}, "a limit order has no stop_price to change"),
        ({"trail_percent": 0.01}, "a limit order has no trail_percent to change"),
    ],
)
def test_an_invalid_replace_is_refused_with_an_alert_and_changes_nothing(
    terms: dict[str, Any], why: str
) -> None:
    state, order_id = resting_entry(filled=30)
    before = list(state.pending)
    out = apply_control(state, replace(order_id, **terms), PARAMS)
    [alert] = out.alerts
    assert alert.kind == "replace_rejected"
    assert why in alert.message
    assert order_id in alert.message
    assert alert.message.startswith("command r1: ")  # how GET /commands/r1 finds it
    assert out.order_events == []
    assert state.pending == before
    assert state.pending[0].quantity == 100


def test_a_replace_of_a_finished_or_unknown_order_is_refused() -> None:
    state, _ = entered(BRACKET)
    take, _ = state.pending
    apply_control(state, replace(take.order_id, limit_price=108.0), PARAMS)
    again = apply_control(state, replace(take.order_id, "r2", limit_price=107.0), PARAMS)
    [alert] = again.alerts
    assert "is not working" in alert.message
    assert again.order_events == []
    unknown = apply_control(state, replace("nope", "r3", quantity=5), PARAMS)
    assert [a.kind for a in unknown.alerts] == ["replace_rejected"]


def test_an_exit_cannot_be_replaced_to_close_more_than_the_position() -> None:
    state, _ = entered(BRACKET)
    _, stop = state.pending
    out = apply_control(state, replace(stop.order_id, quantity=150), PARAMS)
    [alert] = out.alerts
    assert "closes a position of 100 AAPL" in alert.message
    smaller_stop = replace(stop.order_id, "r2", quantity=60, stop_price=97.0)
    smaller = apply_control(state, smaller_stop, PARAMS)
    assert [(r.status, r.quantity, r.stop_price) for r in smaller.order_events] == [
        ("replaced", 100, 95.02),
        ("new", 60, 97.0),
    ]


def test_a_trailing_stop_can_switch_from_an_amount_to_a_percent_and_keeps_its_reference() -> None:
    state, _ = entered(Exits(trailing_stop_amount=1.0))
    step(state, ticks((1000, 102.0, 102.02)))
    [trail] = state.pending
    assert trail.reference == 102.0
    out = apply_control(state, replace(trail.order_id, trail_percent=0.02), PARAMS)
    [new] = state.pending
    assert (new.trail_amount, new.trail_percent, new.reference) == (None, 0.02, 102.0)
    assert out.order_events[-1].trail_percent == 0.02
    later = step(state, ticks((2000, 100.5, 100.52), (3000, 99.9, 99.92)))  # stop 99.96
    [fill] = later.fills
    assert (fill.order_id, fill.price, fill.exit_reason) == (
        new.order_id,
        99.89,
        ExitReason.TRAILING_STOP,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "replace_order", "order_id": "o"}, "new terms"),
        ({"action": "replace_order", "limit_price": 1.0}, "order_id is required"),
        ({"action": "cancel_order", "order_id": "o", "quantity": 5}, "only for it"),
        ({"action": "stop", "stop_price": 5.0}, "only for it"),
        (
            {"action": "replace_order", "order_id": "o", "trail_amount": 1.0, "trail_percent": 0.1},
            "not both",
        ),
        ({"action": "replace_order", "order_id": "o", "quantity": 0}, "greater than 0"),
        ({"action": "replace_order", "order_id": "o", "limit_price": -1.0}, "greater than 0"),
    ],
)
def test_a_replace_command_is_validated(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ControlCommand(command_id="c", account_id="acct", ts=T0, **fields)
