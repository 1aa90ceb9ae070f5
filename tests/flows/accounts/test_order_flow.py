"""Orders and exits through the account stage over simulated sessions: every order's history
is whole, one-cancels-other never fills twice, exits close what is held and say why, and the
outputs do not depend on where batches are cut."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.trading.portfolio import FillRequest, apply_fill, new_book
from schemas.common import OrderType, PremiumSpread, TimeInForce, money
from schemas.config import (
    AlgorithmConfig,
    Costs,
    Exits,
    InstrumentSelection,
    MovingAverageCross,
    RiskLimits,
    Sizing,
    VolatilityPremium,
)
from schemas.trading import Fill
from tests.pipeline import run, session

pytestmark = pytest.mark.long(40)

DAY = date(2026, 11, 25)
FINAL = {"filled", "cancelled", "expired", "rejected"}

CONFIGS = [
    AlgorithmConfig(
        account_id="bracketed",
        symbols=["AAPL", "SPY"],
        strategy=MovingAverageCross(fast=5, slow=20),
        exits=Exits(
            stop_loss_pct=0.002,
            take_profit_pct=0.003,
            trailing_stop_pct=0.0015,
            time_stop_seconds=900,
        ),
    ),
    AlgorithmConfig(
        account_id="limit-late",
        symbols=["AAPL"],
        strategy=MovingAverageCross(fast=5, slow=20, allow_short=True),
        costs=Costs(
            order_type=OrderType.LIMIT,
            limit_offset_bps=0.5,
            latency_ms=1500,
            time_in_force=TimeInForce.GTC,
        ),
        exits=Exits(stop_loss_pct=0.003, trailing_stop_amount=0.4),
        limits=RiskLimits(allow_duplicate_entry=True),
    ),
    AlgorithmConfig(
        account_id="ioc",
        symbols=["SPY"],
        strategy=MovingAverageCross(fast=5, slow=20),
        costs=Costs(order_type=OrderType.LIMIT, limit_offset_bps=0.0, time_in_force="ioc"),
        exits=Exits(take_profit_pct=0.002),
    ),
    AlgorithmConfig(
        account_id="options-timed",
        symbols=["AAPL"],
        strategy=MovingAverageCross(fast=5, slow=20),
        selection=InstrumentSelection(kind="option", target_delta=0.4, days_to_expiry=7),
        sizing=Sizing(quantity=2),
        exits=Exits(time_stop_seconds=600),
    ),
    AlgorithmConfig(
        account_id="condors",
        symbols=["SPY"],
        strategy=VolatilityPremium(
            realised_window=30, threshold=0.02, exit_threshold=0.01, ticks_per_year=252 * 390 * 5
        ),
        selection=InstrumentSelection(
            kind="option",
            target_delta=0.2,
            days_to_expiry=7,
            premium_spread=PremiumSpread.IRON_CONDOR,
            wing_width=5,
        ),
        sizing=Sizing(quantity=2),
        # on the synthetic chain a spread's only exit is its time stop
        exits=Exits(stop_loss_pct=0.2, time_stop_seconds=120),
    ),
]


@pytest.fixture(scope="module")
def ticks():  # type: ignore[no-untyped-def]
    return session(["AAPL", "SPY"], DAY)


@pytest.fixture(scope="module")
def reference(ticks) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return run(ticks, CONFIGS, batch_size=1000, seed=1)


def rows(out: dict[str, list[str]], kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(row) for row in out[kind]]


def histories(out: dict[str, list[str]]) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    by_order: dict[str, list[dict]] = defaultdict(list)  # type: ignore[type-arg]
    for row in rows(out, "order_events"):
        by_order[row["order_id"]].append(row)
    return {k: sorted(v, key=lambda r: r["sequence"]) for k, v in by_order.items()}


def check_invariants(out: dict[str, list[str]], configs: list[AlgorithmConfig]) -> None:
    """What must hold of any run: whole histories, OCO, exits that close, cash that adds up."""
    orders = histories(out)
    for history in orders.values():
        assert [r["sequence"] for r in history] == list(range(len(history)))
        assert history[0]["status"] == "new"
        finals = [i for i, r in enumerate(history) if r["status"] in FINAL]
        assert finals in ([], [len(history) - 1])
        assert history[-1]["filled_quantity"] <= history[-1]["quantity"]
    groups: dict[str, int] = defaultdict(int)
    for history in orders.values():
        if history[0]["oco_group"] and history[-1]["status"] == "filled":
            groups[history[0]["oco_group"]] += 1
    assert all(count == 1 for count in groups.values()), "an OCO group filled twice"
    fills = sorted(rows(out, "fills"), key=lambda f: (f["ts"], f["fill_id"]))
    purposes = {order_id: h[0]["purpose"] for order_id, h in orders.items()}
    for fill in fills:
        purpose = purposes.get(fill["order_id"], "expiry")
        expected = "" if purpose == "entry" else purpose
        assert fill["exit_reason"] == expected, (fill, purpose)
    for config in configs:
        states = [s for s in rows(out, "states") if s["account_id"] == config.account_id]
        last = max(states, key=lambda s: s["version"])
        book = new_book(config.starting_cash)
        mine = [f for f in fills if f["account_id"] == config.account_id]
        cash_then = None  # the cash when the last state row was written
        for fill in mine:
            if fill["ts"] > last["ts"] and cash_then is None:
                cash_then = money(book.cash_cents)
            before = book.holdings.get(fill["instrument"])
            apply_fill(book, FillRequest.from_row(Fill.model_validate(fill)))
            after = book.holdings.get(fill["instrument"])
            if fill["exit_reason"] not in ("", "signal") and before is not None:
                # an exit reduces the position it closes and never turns it around
                assert after is None or (after.quantity > 0) == (before.quantity > 0)
                assert after is None or abs(after.quantity) < abs(before.quantity)
        assert last["cash"] == (money(book.cash_cents) if cash_then is None else cash_then)


def test_the_reference_run_exercises_every_exit(reference: dict[str, list[str]]) -> None:
    reasons = {f["exit_reason"] for f in rows(reference, "fills")}
    assert {"", "signal", "stop_loss", "take_profit", "trailing_stop", "time_stop"} <= reasons
    statuses = {r["status"] for r in rows(reference, "order_events")}
    assert {"new", "filled", "cancelled"} <= statuses
    assert {r["order_type"] for r in rows(reference, "order_events")} >= {
        "market",
        "limit",
        "stop",
        "trailing_stop",
    }
    check_invariants(reference, CONFIGS)


def test_iron_condors_open_and_close_as_one(reference: dict[str, list[str]]) -> None:
    """Every condor opens and closes its four legs at one time: by a signal or by its time
    stop (the synthetic chain has no quotes of its own for a stop-loss to watch)."""
    legs: dict[str, list[dict]] = defaultdict(list)  # type: ignore[type-arg]
    for fill in rows(reference, "fills"):
        if fill["account_id"] == "condors":
            legs[fill["spread_id"]].append(fill)
    assert "" not in legs, "every condor fill is a leg of a spread"
    assert len(legs) >= 2, "the run must open and close condors"
    for spread in legs.values():
        assert len(spread) == 4
        assert len({leg["ts"] for leg in spread}) == 1
        assert len({leg["exit_reason"] for leg in spread}) == 1  # all open, or all close
    assert {spread[0]["exit_reason"] for spread in legs.values()} == {"", "signal", "time_stop"}


def test_market_orders_have_a_new_and_a_filled_row_at_the_same_time(
    reference: dict[str, list[str]],
) -> None:
    markets = [h for h in histories(reference).values() if h[0]["order_type"] == "market"]
    assert markets
    for history in markets:
        if (
            history[0]["purpose"] in ("entry", "signal", "time_stop")
            and history[0]["account_id"] != "limit-late"
        ):
            assert [r["status"] for r in history] in (["new", "filled"], ["new", "rejected"])
            assert history[0]["ts"] == history[-1]["ts"]


@pytest.mark.parametrize(("batch_size", "seed"), [(1, 2), (7, 3), (1000, 4)])
def test_orders_do_not_depend_on_batch_cuts(
    ticks,
    reference: dict[str, list[str]],
    batch_size: int,
    seed: int,  # type: ignore[no-untyped-def]
) -> None:
    assert run(ticks, CONFIGS, batch_size=batch_size, seed=seed) == reference


@settings(max_examples=6, deadline=None)
@given(
    stop=st.none() | st.floats(0.0005, 0.01),
    take=st.none() | st.floats(0.0005, 0.01),
    trail=st.none() | st.floats(0.0005, 0.01),
    timed=st.none() | st.integers(30, 3600),
    latency=st.integers(0, 3000),
    short=st.booleans(),
)
def test_any_exits_keep_positions_and_cash_consistent(  # type: ignore[no-untyped-def]
    ticks, stop, take, trail, timed, latency, short
) -> None:
    config = AlgorithmConfig(
        account_id="any",
        symbols=["SPY"],
        strategy=MovingAverageCross(fast=5, slow=20, allow_short=short),
        costs=Costs(latency_ms=latency),
        exits=Exits(
            stop_loss_pct=stop,
            take_profit_pct=take,
            trailing_stop_pct=trail,
            time_stop_seconds=timed,
        ),
    )
    check_invariants(run(ticks, [config], batch_size=500, seed=1), [config])
