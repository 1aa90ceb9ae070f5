"""Multi-leg option orders (flows.trading.spreads): combined quotes, all-or-none fills, the risk
of a defined-risk spread at expiry, and the builders."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.trading.chain import ChainParams, synthesize_chain
from flows.trading.spreads import (
    LegQuote,
    Spread,
    SpreadFill,
    SpreadLeg,
    combined_quote,
    expiry_payoff,
    fill_spread,
    iron_condor,
    max_loss,
    straddle,
    strangle,
    vertical,
    wing_row,
)
from schemas.common import Side
from schemas.config import Costs
from tests.flows.trading.test_selection import BOOK, TS, hand_built_chain

EXPIRY = TS + 30 * 86_400_000
NO_COSTS = Costs(slippage_bps=0.0, commission_per_contract=0.65, min_commission=1.0)


def put_credit_spread(short: float = 100.0, long: float = 95.0) -> Spread:
    return Spread(
        "vertical",
        "XYZ",
        (
            SpreadLeg("XYZ-P100", Side.SELL, 1, short, False, EXPIRY),
            SpreadLeg("XYZ-P95", Side.BUY, 1, long, False, EXPIRY),
        ),
    )


QUOTES = (LegQuote(bid=3.00, ask=3.20, ts=TS), LegQuote(bid=1.30, ask=1.40, ts=TS))


def test_combined_quote_of_a_put_credit_spread_worked_by_hand() -> None:
    """Sell the 100 put (bid 3.00, ask 3.20), buy the 95 put (1.30 / 1.40): opening takes
    3.00 - 1.40 = 1.60 of credit (ask -1.60); selling the same legs back fetches
    1.30 - 3.20 = -1.90 (bid -1.90)."""
    quote = combined_quote(put_credit_spread(), QUOTES)
    assert quote.ask == pytest.approx(-1.60)
    assert quote.bid == pytest.approx(-1.90)


def test_a_spread_fills_every_leg_at_one_ts_with_slippage_and_commission_per_leg() -> None:
    """10 bps of slippage: the sold put at 3.00 - 0.003 = 2.997, the bought one at 1.40 +
    0.0014 = 1.4014; net -1.5956. Each leg pays max(1.00, 0.65 x 3) = 1.95."""
    costs = Costs(slippage_bps=10.0, commission_per_contract=0.65, min_commission=1.0)
    filled = fill_spread(put_credit_spread(), QUOTES, 3, TS + 5, costs)
    assert isinstance(filled, SpreadFill)
    assert [(f.leg.instrument, f.quantity) for f in filled.legs] == [
        ("XYZ-P100", 3),
        ("XYZ-P95", 3),
    ]
    assert [round(f.price * 10_000) for f in filled.legs] == [29_970, 14_014]
    assert round(filled.net_price * 10_000) == -15_956
    assert [f.commission_cents for f in filled.legs] == [195, 195]
    assert filled.ts == TS + 5


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (LegQuote(bid=1.50, ask=1.40, ts=TS), "leg XYZ-P95: crossed quote"),
        (LegQuote(bid=1.30, ask=1.40, ts=TS - 2_001), "leg XYZ-P95: stale quote"),
    ],
)
def test_one_unusable_leg_quote_fills_no_leg(second: LegQuote, why: str) -> None:
    costs = Costs(max_quote_age_ms=2_000)
    refused = fill_spread(put_credit_spread(), (QUOTES[0], second), 1, TS, costs)
    assert isinstance(refused, str)
    assert refused.startswith(why)


def sized(quote: LegQuote, bid_size: int, ask_size: int) -> LegQuote:
    return LegQuote(quote.bid, quote.ask, quote.ts, bid_size, ask_size)


def test_every_legs_quoted_size_must_cover_ratio_times_units() -> None:
    """3 units sell 3 of the 100 put at its bid and buy 3 of the 95 put at its ask: a bid size
    of 3 and an ask size of 3 cover them exactly; an ask size of 2 fills no leg at all, however
    deep the sold leg's bid; the sizes on the sides the legs do not take do not matter."""
    exact = (sized(QUOTES[0], 3, 0), sized(QUOTES[1], 0, 3))
    filled = fill_spread(put_credit_spread(), exact, 3, TS, NO_COSTS)
    assert isinstance(filled, SpreadFill)
    assert [f.quantity for f in filled.legs] == [3, 3]
    short = (sized(QUOTES[0], 500, 500), sized(QUOTES[1], 500, 2))
    refused = fill_spread(put_credit_spread(), short, 3, TS, NO_COSTS)
    assert refused == "leg XYZ-P95: 2 quoted at the ask, 3 needed (all legs fill or none)"
    doubled = Spread(
        "ratio", "XYZ", (put_credit_spread().legs[0], replace(put_credit_spread().legs[1], ratio=2))
    )
    refused = fill_spread(
        doubled, (sized(QUOTES[0], 3, 3), sized(QUOTES[1], 5, 5)), 3, TS, NO_COSTS
    )
    assert refused == "leg XYZ-P95: 5 quoted at the ask, 6 needed (all legs fill or none)"
    # the kill switch flattens whatever the sizes
    assert isinstance(
        fill_spread(put_credit_spread(), short, 3, TS, NO_COSTS, cover=False), SpreadFill
    )


def test_a_leg_locked_with_sizes_fills_no_leg_and_one_locked_without_sizes_fills() -> None:
    locked = LegQuote(bid=1.35, ask=1.35, ts=TS)
    refused = fill_spread(put_credit_spread(), (QUOTES[0], sized(locked, 9, 9)), 1, TS, NO_COSTS)
    assert isinstance(refused, str)
    assert refused.startswith("leg XYZ-P95: locked quote")
    price = fill_spread(put_credit_spread(), (QUOTES[0], locked), 1, TS, NO_COSTS)
    assert isinstance(price, SpreadFill)
    killed = fill_spread(
        put_credit_spread(), (QUOTES[0], sized(locked, 9, 9)), 1, TS, NO_COSTS, cover=False
    )
    assert isinstance(killed, str)  # a locked quote has no side to trade, sizes heeded or not


def test_a_net_limit_fills_only_when_the_combined_price_meets_it() -> None:
    """A credit of at least 1.60 (limit -1.60) fills at -1.60; at least 1.61 does not."""
    assert isinstance(fill_spread(put_credit_spread(), QUOTES, 1, TS, NO_COSTS, -1.60), SpreadFill)
    refused = fill_spread(put_credit_spread(), QUOTES, 1, TS, NO_COSTS, -1.61)
    assert isinstance(refused, str)
    assert "does not meet the limit" in refused


def test_max_loss_of_defined_and_undefined_risk_worked_by_hand() -> None:
    """A 5-wide put credit spread for 1.60 loses at most 5 - 1.60 = 3.40; a short straddle has
    no bound above; an iron condor loses at most its wider wing less the credit."""
    assert max_loss(put_credit_spread(), -1.60) == pytest.approx(3.40)
    assert expiry_payoff(put_credit_spread(), 90.0) == pytest.approx(-5.0)
    short_straddle = Spread(
        "straddle",
        "XYZ",
        (
            SpreadLeg("C", Side.SELL, 1, 100.0, True, EXPIRY),
            SpreadLeg("P", Side.SELL, 1, 100.0, False, EXPIRY),
        ),
    )
    assert max_loss(short_straddle, -6.0) is None
    condor = Spread(
        "iron_condor",
        "XYZ",
        (
            *put_credit_spread(95.0, 90.0).legs,
            SpreadLeg("C105", Side.SELL, 1, 105.0, True, EXPIRY),
            SpreadLeg("C115", Side.BUY, 1, 115.0, True, EXPIRY),
        ),
    )
    assert max_loss(condor, -2.5) == pytest.approx(7.5)


def test_legs_of_different_expiries_are_refused() -> None:
    with pytest.raises(ValueError, match="one expiry"):
        Spread(
            "calendar",
            "XYZ",
            (
                SpreadLeg("A", Side.SELL, 1, 100.0, True, EXPIRY),
                SpreadLeg("B", Side.BUY, 1, 100.0, True, EXPIRY + 1),
            ),
        )


# --- builders ----------------------------------------------------------------------------------


def test_credit_and_debit_verticals_from_a_hand_built_chain() -> None:
    """BOOK's 35-day calls: delta 0.33 is the 105 call; 5 wide out is the 110. A credit call
    vertical sells 105 and buys 110; a debit one buys 105 and sells 110."""
    credit = vertical(BOOK, True, 0.33, 35, 5.0, credit=True)
    assert credit is not None
    assert [(leg.row, leg.side) for leg in credit.legs] == [(8, Side.SELL), (9, Side.BUY)]
    debit = vertical(BOOK, True, 0.33, 35, 5.0, credit=False)
    assert debit is not None
    assert [(leg.row, leg.side) for leg in debit.legs] == [(8, Side.BUY), (9, Side.SELL)]
    puts = vertical(BOOK, False, 0.31, 35, 5.0, credit=True)
    assert puts is not None
    assert [(leg.strike, leg.side) for leg in puts.legs] == [(95.0, Side.SELL), (90.0, Side.BUY)]


def test_the_wing_is_the_nearest_listed_strike_beyond_the_anchor() -> None:
    """From the 105 call, a width of 3 lands nearest 110 (the only strike above); from the 110
    call there is nothing further out."""
    assert wing_row(BOOK, 8, 3.0, Side.BUY) == 9
    assert wing_row(BOOK, 9, 5.0, Side.BUY) is None


def test_straddles_strangles_and_iron_condors_from_a_synthetic_chain() -> None:
    chain = synthesize_chain("AAPL", 100.0, TS, ChainParams())
    pair = straddle(chain, 7, Side.SELL)
    assert pair is not None
    assert {leg.is_call for leg in pair.legs} == {True, False}
    assert pair.legs[0].strike == pair.legs[1].strike == 100.0
    wide = strangle(chain, 0.25, 7, Side.BUY)
    assert wide is not None
    put, call = wide.legs
    assert put.strike < 100.0 < call.strike
    condor = iron_condor(chain, 0.2, 7, 5.0)
    assert condor is not None
    strikes = [leg.strike for leg in condor.legs]
    sides = [leg.side for leg in condor.legs]
    assert strikes[1] < strikes[0] < strikes[2] < strikes[3]
    assert sides == [Side.SELL, Side.BUY, Side.SELL, Side.BUY]
    assert strikes[0] - strikes[1] == pytest.approx(5.0)
    assert strikes[3] - strikes[2] == pytest.approx(5.0)


def test_no_vertical_without_a_tradable_wing() -> None:
    """A chain whose only other put has no ask cannot buy its wing."""
    chain = hand_built_chain(
        [(30, 100.0, False, -0.3, 2.0, 2.1), (30, 95.0, False, -0.2, 0.0, 0.0)]
    )
    assert vertical(chain, False, 0.3, 30, 5.0, credit=True) is None


# --- properties --------------------------------------------------------------------------------

prices = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)
widths = st.floats(min_value=0.01, max_value=5.0, allow_nan=False)


@st.composite
def leg_quotes(draw: st.DrawFn) -> LegQuote:
    bid = draw(prices)
    # mostly usable quotes, sometimes crossed or stale
    ask = bid + draw(st.floats(min_value=-0.5, max_value=2.0, allow_nan=False))
    age = draw(st.sampled_from([0, 0, 0, 500, 5_000]))
    return LegQuote(bid=max(bid, 0.0), ask=max(ask, 0.0), ts=TS - age)


@given(
    short_strike=st.floats(min_value=50.0, max_value=150.0, allow_nan=False),
    width=st.floats(min_value=0.5, max_value=20.0, allow_nan=False),
    is_call=st.booleans(),
    quotes=st.tuples(leg_quotes(), leg_quotes()),
    quantity=st.integers(min_value=1, max_value=50),
    slippage_bps=st.floats(min_value=0.0, max_value=50.0, allow_nan=False),
    spot=st.floats(min_value=0.0, max_value=300.0, allow_nan=False),
)
def test_a_credit_vertical_fills_whole_inside_its_quotes_and_loses_at_most_its_max_loss(
    short_strike: float,
    width: float,
    is_call: bool,
    quotes: tuple[LegQuote, LegQuote],
    quantity: int,
    slippage_bps: float,
    spot: float,
) -> None:
    """Never a partial spread: either every leg fills, all at one ts, or nothing does (and only
    because a leg's quote is crossed or stale). A leg's price is within its quote plus
    slippage. At expiry, the PnL (commissions aside) is never below -(max loss) x 100 x qty,
    and for a vertical the max loss is width - credit."""
    long_strike = short_strike + width if is_call else short_strike - width
    spread = Spread(
        "vertical",
        "XYZ",
        (
            SpreadLeg("S", Side.SELL, 1, short_strike, is_call, EXPIRY),
            SpreadLeg("L", Side.BUY, 1, long_strike, is_call, EXPIRY),
        ),
    )
    costs = Costs(slippage_bps=slippage_bps, max_quote_age_ms=1_000)
    outcome = fill_spread(spread, quotes, quantity, TS, costs)
    usable = all(q.bid <= q.ask and TS - q.ts <= 1_000 for q in quotes)
    assert isinstance(outcome, SpreadFill) == usable
    if not isinstance(outcome, SpreadFill):
        return
    assert len(outcome.legs) == 2
    assert outcome.ts == TS
    assert all(f.quantity == quantity for f in outcome.legs)
    for f, q in zip(outcome.legs, quotes, strict=True):
        slip = (
            q.ask * slippage_bps / 10_000
            if f.leg.side == Side.BUY
            else q.bid * slippage_bps / 10_000
        )
        low, high = (q.ask, q.ask + slip) if f.leg.side == Side.BUY else (q.bid - slip, q.bid)
        assert max(low, 0.0) - 5e-5 <= f.price <= high + 5e-5  # the 0.0001 grid
    net = outcome.net_price
    loss = max_loss(spread, net)
    assert loss is not None
    assert loss == pytest.approx(max(width + net, 0.0), abs=1e-9)
    pnl = (expiry_payoff(spread, spot) - net) * 100 * quantity
    assert pnl >= -loss * 100 * quantity - 1e-6


@given(
    st.lists(st.tuples(st.booleans(), st.booleans(), st.floats(1.0, 200.0)), min_size=1, max_size=4)
)
def test_max_loss_is_the_worst_expiry_loss_over_a_grid_of_spots(
    legs: list[tuple[bool, bool, float]],
) -> None:
    """Whatever the legs, a bounded max loss is never beaten by any spot at expiry, and some
    strike (or 0) reaches it."""
    spread = Spread(
        "custom",
        "XYZ",
        tuple(
            SpreadLeg(f"L{n}", Side.BUY if buy else Side.SELL, 1, strike, call, EXPIRY)
            for n, (buy, call, strike) in enumerate(legs)
        ),
    )
    loss = max_loss(spread, 0.0)
    spots = [s * 1.25 for s in range(0, 200)]  # 0 to 250, past every strike
    worst = max(-expiry_payoff(spread, s) for s in spots)
    if loss is None:
        # more calls sold than bought: past every strike the loss keeps growing with the spot
        assert -expiry_payoff(spread, 2_000.0) > -expiry_payoff(spread, 1_000.0)
        return
    assert worst <= loss + 1e-9
