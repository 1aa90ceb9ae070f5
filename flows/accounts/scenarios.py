"""The account's book as the shock-scenario rule revalues it (`max_scenario_loss`), and its
worst scenario for position snapshots. Only computed when the rule is configured."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.legs import Leg
from flows.trading.chain import MS_PER_YEAR, implied_vol_surface, quoted_chain
from flows.trading.orchestrator import ScenarioBook, WorstScenario, worst_scenario
from flows.trading.portfolio import Holding
from schemas.common import Side

# One row of a scenario book: underlying, units (signed shares-equivalent), and for an option
# (instrument, expiry_ts, strike, is_call); None for shares.
_Row = tuple[str, float, tuple[str, int, float, bool] | None]


def scenario_book(ctx: AccountContext, ts: int, legs: Sequence[Leg] = ()) -> ScenarioBook:
    """The holdings (sorted by instrument) and `legs` as if filled, at event time `ts`.

    Spots are the underlyings' mids. An option's volatility is implied from its market quote
    when option quotes are fed and it has one, else the model surface's at its strike.
    """
    state = ctx.state
    rows: list[_Row] = []
    for name in sorted(state.book.holdings):
        h = state.book.holdings[name]
        rows.append(_row(name, h.underlying, h.quantity * h.multiplier, h))
    for leg in legs:
        sign = 1 if leg.side == Side.BUY else -1
        rows.append(_row(leg.instrument, leg.underlying, sign * leg.quantity * leg.multiplier, leg))
    spot = np.array([state.quotes[underlying].mid for underlying, _, _ in rows])
    strike, years, is_call = (np.zeros(len(rows)) for _ in range(3))
    for i, (_, _, option) in enumerate(rows):
        if option is not None:
            _, expiry_ts, strike[i], is_call[i] = option
            years[i] = max(expiry_ts - ts, 0) / MS_PER_YEAR
    vol = _volatilities(ctx, rows, spot, ts, strike, years)
    return ScenarioBook(
        underlying=tuple(underlying for underlying, _, _ in rows),
        spot=spot,
        units=np.array([units for _, units, _ in rows]),
        option=np.array([option is not None for _, _, option in rows], dtype=bool),
        strike=strike,
        years=years,
        vol=vol,
        is_call=is_call.astype(bool),
        rate=ctx.params.chain.rate,
        dividend=ctx.params.chain.dividend,
    )


def _row(instrument: str, underlying: str, units: int, terms: Holding | Leg) -> _Row:
    """A scenario book row of a holding or a leg (its contract terms if it is an option)."""
    if terms.expiry_ts is None:
        return underlying, float(units), None
    assert terms.strike is not None and terms.is_call is not None
    return underlying, float(units), (instrument, terms.expiry_ts, terms.strike, terms.is_call)


def _volatilities(
    ctx: AccountContext,
    rows: list[_Row],
    spot: np.ndarray,
    ts: int,
    strike: np.ndarray,
    years: np.ndarray,
) -> np.ndarray:
    """Each option row's volatility (0 for shares): the model surface's, one call per
    underlying, then the implied vol of the contract's quote where option quotes are fed."""
    params = ctx.params
    vol = np.zeros(len(rows))
    for underlying in sorted({row[0] for row in rows if row[2] is not None}):
        where = [i for i, row in enumerate(rows) if row[0] == underlying and row[2] is not None]
        vol[where] = implied_vol_surface(
            underlying, spot[where[0]], strike[where], years[where], params.chain
        )
    if not params.option_quotes:
        return vol
    for i, (underlying, _, option) in enumerate(rows):
        quote = ctx.state.quotes.get(option[0]) if option is not None else None
        if quote is None or years[i] <= 0:
            continue
        assert option is not None
        chain = quoted_chain(
            underlying, float(spot[i]), ts, [option[0]], [quote.bid], [quote.ask], params.chain
        )
        if len(chain):
            vol[i] = float(chain.iv[0])
    return vol


def book_worst_scenario(ctx: AccountContext, ts: int) -> WorstScenario | None:
    """The book's worst scenario at `ts`, or None when `max_scenario_loss` is off."""
    limits = ctx.state.config.limits
    if limits.max_scenario_loss is None:
        return None
    book = scenario_book(ctx, ts)
    return worst_scenario(book, limits.scenario_spot_pct, limits.scenario_vol_points)
