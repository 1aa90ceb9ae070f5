"""The risk rules of `decide` in detail: the throttle's window, cooldowns, duplicates, position
counts, notionals with the option multiplier, floating-point noise at a limit, and Greeks."""

from __future__ import annotations

import pytest

from flows.trading.orchestrator import APPROVED, decide
from tests.flows.trading.orchestrator.scenarios import NOW, no_limits, scenario


def test_order_throttle_counts_the_last_60_seconds_up_to_and_including_now() -> None:
    limits = no_limits(max_orders_per_minute=2)
    counted = (NOW - 59_999,)
    not_counted = (NOW - 60_000, NOW - 120_000, NOW + 1)
    view, intent = scenario(recent_order_ts=not_counted + counted)
    assert decide(view, intent, limits) == APPROVED
    view, intent = scenario(recent_order_ts=(*not_counted, *counted, NOW))
    verdict = decide(view, intent, limits)
    assert (verdict.rule, verdict.observed, verdict.limit) == ("order_throttle", 3.0, 2.0)


def test_order_throttle_of_one_allows_one_order_a_minute() -> None:
    limits = no_limits(max_orders_per_minute=1)
    assert decide(*scenario(), limits) == APPROVED
    assert decide(*scenario(recent_order_ts=(NOW - 59_000,)), limits).rule == "order_throttle"
    assert decide(*scenario(recent_order_ts=(NOW - 60_000,)), limits) == APPROVED


def test_cooldown_passes_without_a_previous_entry() -> None:
    assert decide(*scenario(last_entry_ts=None), no_limits(cooldown_seconds=3_600)) == APPROVED


def test_cooldown_of_zero_never_blocks() -> None:
    assert decide(*scenario(last_entry_ts=NOW), no_limits(cooldown_seconds=0)) == APPROVED


def test_duplicate_entry_is_approved_when_allowed() -> None:
    view, intent = scenario(holds_same_direction=True)
    assert decide(view, intent, no_limits(allow_duplicate_entry=True)) == APPROVED


def test_adding_to_an_instrument_already_held_does_not_count_as_a_new_position() -> None:
    limits = no_limits(max_open_positions=3)
    assert decide(*scenario(open_positions=3, instrument_quantity=5), limits) == APPROVED
    verdict = decide(*scenario(open_positions=3, instrument_quantity=0), limits)
    assert (verdict.rule, verdict.observed, verdict.limit) == ("max_open_positions", 4.0, 3.0)


def test_max_open_positions_of_zero_blocks_every_new_instrument() -> None:
    verdict = decide(*scenario(open_positions=0), no_limits(max_open_positions=0))
    assert (verdict.rule, verdict.observed, verdict.limit) == ("max_open_positions", 1.0, 0.0)


def test_order_notional_counts_the_option_multiplier() -> None:
    limits = no_limits(max_order_notional=10_000.0)
    option = {"instrument": "AAPL261218C00100000", "multiplier": 100, "quantity": 2}
    assert decide(*scenario(price=50.0, **option), limits) == APPROVED
    verdict = decide(*scenario(price=50.01, **option), limits)
    assert verdict.rule == "max_order_notional"
    assert verdict.observed == pytest.approx(10_002.0)


def test_symbol_notional_adds_the_order_notional_with_its_multiplier() -> None:
    limits = no_limits(max_symbol_notional=20_000.0)
    option = {"multiplier": 100, "quantity": 3, "price": 5.0}  # 1,500.00
    assert decide(*scenario(symbol_notional=18_500.0, **option), limits) == APPROVED
    verdict = decide(*scenario(symbol_notional=18_500.01, **option), limits)
    assert verdict.rule == "max_symbol_notional"


def test_limits_forgive_floating_point_noise_at_the_limit() -> None:
    # 3 x 10.05 is 30.150000000000002 in binary floating point: at the limit, not past it.
    assert 3 * 10.05 > 30.15
    view, intent = scenario(quantity=3, price=10.05)
    assert decide(view, intent, no_limits(max_order_notional=30.15)) == APPROVED


def test_a_rejection_a_fraction_of_a_cent_past_shows_enough_decimals_to_differ() -> None:
    view, intent = scenario(quantity=1, price=10_000.004)
    verdict = decide(view, intent, no_limits(max_order_notional=10_000.0))
    assert verdict.rule == "max_order_notional"
    assert "order notional 10,000.004 exceeds max_order_notional 10,000.000" in verdict.reason


def test_max_abs_delta_limits_short_exposure_too() -> None:
    limits = no_limits(max_abs_delta=500.0)
    assert decide(*scenario(net_delta=-400.0, delta=-100.0), limits) == APPROVED
    verdict = decide(*scenario(net_delta=-400.0, delta=-100.01), limits)
    assert verdict.rule == "max_abs_delta"
    assert verdict.observed == pytest.approx(500.01)


def test_greek_limits_judge_the_net_after_the_order_so_offsetting_orders_pass() -> None:
    # Already over the limit after a market move; an order that brings the net back under passes.
    limits = no_limits(max_abs_delta=500.0, max_abs_vega=1_000.0)
    view, intent = scenario(net_delta=600.0, delta=-200.0, net_vega=-1_200.0, vega=300.0)
    assert decide(view, intent, limits) == APPROVED
