"""The kill switch flattens the account: every position closed at its last quote, worked by
hand on one account holding shares and a written call."""

from __future__ import annotations

from datetime import date

import pytest

from flows.accounts.chains import contract_quote
from flows.accounts.context import AccountContext
from flows.accounts.control import apply_control
from flows.accounts.legs import Leg
from flows.accounts.resting import fill_now, order_for
from flows.accounts.state import AccountParams, AccountState, Outputs, Quote, new_account
from flows.trading.chain import ChainParams, expiry_ts_ms
from flows.trading.paper_broker import market_fill_price
from schemas.common import AssetClass, ExitReason, OrderStatus, OrderType, Severity, Side
from schemas.config import ControlCommand, Exits
from tests.flows.accounts.test_exits import COSTS, T0, config

CALL = "AAPL261218C00100000"
QUOTED = AccountParams(run_id="test", option_quotes=True)
BRACKET = Exits(stop_loss_pct=0.05, take_profit_pct=0.10, time_stop_seconds=3600)


def call_leg(bid: float, ask: float) -> Leg:
    """Writing 2 AAPL Dec-18 100 calls."""
    return Leg(
        instrument=CALL,
        underlying="AAPL",
        asset_class=AssetClass.OPTION,
        multiplier=100,
        side=Side.SELL,
        quantity=2,
        opens=True,
        bid=bid,
        ask=ask,
        mid=(bid + ask) / 2,
        delta=0.5,
        vega=0.1,
        expiry_ts=expiry_ts_ms(date(2026, 12, 18), ChainParams()),
        strike=100.0,
        is_call=True,
    )


def holding_both(params: AccountParams, exits: Exits = BRACKET, **costs: object) -> AccountState:
    """100 AAPL bought at 100.02 and 2 calls written at 2.99 at T0 (a cent of slippage each),
    commissions 1.00 and 1.30, each with its bracket resting."""
    state = new_account(config(exits, COSTS.model_copy(update=costs)))
    ctx = AccountContext(state, params, Outputs())
    state.quotes["AAPL"] = Quote(T0, 99.99, 100.01, 100.0)
    state.quotes[CALL] = Quote(T0, 3.0, 3.2, 3.1)
    shares = Leg.equity_opening("AAPL", Side.BUY, 100, state.quotes["AAPL"])
    assert fill_now(ctx, shares, order_for(ctx, shares, "buy", T0, OrderType.MARKET), T0, "f1", "s")
    call = call_leg(3.0, 3.2)
    assert fill_now(ctx, call, order_for(ctx, call, "write", T0, OrderType.MARKET), T0, "f2", "s")
    return state


def kill(command_id: str = "kill-1", ts: int = T0 + 2000) -> ControlCommand:
    return ControlCommand(
        command_id=command_id,
        account_id="acct",
        ts=ts,
        action="kill_switch",  # type: ignore[arg-type]
        reason="drill",
    )


def test_the_kill_switch_closes_shares_and_options_at_their_quotes_and_cancels_the_rest() -> None:
    state = holding_both(QUOTED)
    assert len(state.pending) == 4  # the two brackets
    start_cents = state.book.cash_cents
    state.quotes["AAPL"] = Quote(T0 + 1000, 101.0, 101.02, 101.01)
    state.quotes[CALL] = Quote(T0 + 1000, 3.5, 3.7, 3.6)
    out = apply_control(state, kill(), QUOTED)
    # instrument order; the shares sell at the bid less a cent, the calls are bought at the ask
    # plus a cent
    assert [(f.instrument, f.side, f.quantity, f.price) for f in out.fills] == [
        ("AAPL", Side.SELL, 100, 100.99),
        (CALL, Side.BUY, 2, 3.71),
    ]
    assert {(f.exit_reason, f.reason, f.ts) for f in out.fills} == {
        (ExitReason.KILL_SWITCH, "kill_switch", T0 + 2000)
    }
    # shares +97.00, calls -144.00, each net of its own fill's commission (1.00, 1.30)
    assert [f.realised_pnl for f in out.fills] == [pytest.approx(96.0), pytest.approx(-145.3)]
    assert state.book.holdings == {}
    # all four fills: -1,000,200 -100 +59,800 -130 +1,009,900 -100 -74,200 -130 cents
    assert state.book.cash_cents - start_cents == 1_009_900 - 100 - 74_200 - 130
    assert state.book.cash_cents == 10_000_000 - 5_160
    assert state.pending == []
    assert state.time_stops == []
    kinds = {(r.purpose, r.status) for r in out.order_events}
    assert kinds == {
        ("kill_switch", OrderStatus.NEW),
        ("kill_switch", OrderStatus.FILLED),
        ("take_profit", OrderStatus.CANCELLED),
        ("stop_loss", OrderStatus.CANCELLED),
    }
    [halted] = out.states
    assert (halted.status.value, halted.open_positions) == ("halted", 0)
    assert halted.cash == pytest.approx(halted.equity) == pytest.approx(100_000 - 51.60)
    assert [a.kind for a in out.alerts] == ["kill_switch"]


def test_a_position_without_a_usable_quote_stays_open_with_a_critical_alert() -> None:
    state = holding_both(QUOTED, max_quote_age_ms=1000)
    state.quotes["AAPL"] = Quote(T0 + 4500, 101.0, 101.02, 101.01)  # fresh; the call's is 5 s old
    out = apply_control(state, kill(ts=T0 + 5000), QUOTED)
    assert [(f.instrument, f.exit_reason) for f in out.fills] == [("AAPL", ExitReason.KILL_SWITCH)]
    assert list(state.book.holdings) == [CALL]
    assert state.book.holdings[CALL].quantity == -2
    [rejected] = [r for r in out.order_events if r.status == OrderStatus.REJECTED]
    assert (rejected.instrument, rejected.purpose) == (CALL, "kill_switch")
    assert "stale quote (5,000 ms old" in rejected.reason
    [alert] = [a for a in out.alerts if a.kind == "kill_switch_unfilled"]
    assert alert.severity == Severity.CRITICAL
    assert CALL in alert.message
    assert "-2" in alert.message
    assert "stale quote" in alert.message
    assert out.states[-1].status.value == "halted"
    assert state.pending == []


def test_a_second_kill_switch_closes_what_the_first_could_not() -> None:
    state = holding_both(QUOTED)
    del state.quotes[CALL]  # a contract the account holds but has no quote of
    first = apply_control(state, kill(), QUOTED)
    [alert] = [a for a in first.alerts if a.kind == "kill_switch_unfilled"]
    assert "no quote" in alert.message
    assert [f.instrument for f in first.fills] == ["AAPL"]
    # no order without a quote; the call's bracket is cancelled by the halt all the same
    closing = [r.instrument for r in first.order_events if r.purpose == "kill_switch"]
    assert set(closing) == {"AAPL"}
    state.quotes[CALL] = Quote(T0 + 3000, 2.5, 2.6, 2.55)
    second = apply_control(state, kill("kill-2", T0 + 3000), QUOTED)
    [fill] = second.fills
    assert (fill.instrument, fill.price, fill.exit_reason) == (CALL, 2.61, ExitReason.KILL_SWITCH)
    assert state.book.holdings == {}


def test_without_option_quotes_the_option_closes_at_the_synthetic_chains_quote() -> None:
    params = AccountParams(run_id="test")
    state = holding_both(params, Exits())
    holding = state.book.holdings[CALL]
    bid, ask, _, _ = contract_quote(AccountContext(state, params, Outputs()), holding, T0 + 2000)
    out = apply_control(state, kill(), params)
    [_, fill] = out.fills
    assert fill.instrument == CALL
    assert fill.price == pytest.approx(market_fill_price(Side.BUY, bid, ask, state.config.costs))
    assert state.book.holdings == {}


def test_a_flat_account_is_only_halted() -> None:
    state = new_account(config(BRACKET))
    out = apply_control(state, kill(), QUOTED)
    assert (out.fills, out.order_events) == ([], [])
    assert [s.status.value for s in out.states] == ["halted"]
