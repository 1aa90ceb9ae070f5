"""Running the account's strategy over its ticks: the signals of a segment, in tick order."""

from __future__ import annotations

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.ticks import Ticks
from flows.trading.chain import atm_vol, chains_in, contract_terms, implied_vol_surface
from flows.trading.strategies import RawSignal, strategy_spec, strategy_step


def signals_for(ctx: AccountContext, ticks: Ticks) -> list[tuple[int, str, RawSignal]]:
    """Run every symbol's strategy over its ticks; (position in `ticks`, symbol, signal)."""
    state, params = ctx.state, ctx.params
    events: list[tuple[int, str, RawSignal]] = []
    strategy = state.config.strategy
    reads_implied_vol = strategy_spec(strategy).reads_implied_vol
    for code, symbol in ticks.symbol_of_code.items():
        if symbol not in state.strategies:
            continue  # an option contract's quote: strategies read their underlyings
        of_symbol = ticks.codes == code
        if ticks.quote_only is not None:  # a bar's open is for fills; strategies read closes
            of_symbol &= ~ticks.quote_only
        rows = np.flatnonzero(of_symbol)
        implied = None
        if reads_implied_vol and params.option_quotes:
            implied = _quoted_atm_vols(ctx, ticks, symbol, rows)
        elif reads_implied_vol:
            spot = ticks.mid[rows]
            years = state.config.selection.days_to_expiry / 365.0
            implied = implied_vol_surface(symbol, spot, spot, years, params.chain)
        # Strategies read the mid: trade prices bounce between bid and ask, which is noise to
        # an indicator (and inflates realised volatility).
        state.strategies[symbol], raw = strategy_step(
            strategy, state.strategies[symbol], ticks.ts[rows], ticks.mid[rows], implied
        )
        events.extend((int(rows[signal.index]), symbol, signal) for signal in raw)
    events.sort(key=lambda event: event[0])
    return events


def _quoted_atm_vols(
    ctx: AccountContext, ticks: Ticks, symbol: str, rows: np.ndarray
) -> np.ndarray:
    """Per tick of `symbol` (`rows`): the at-the-money implied vol, at the selection's days to
    expiry, of the latest quoted chain before it; NaN until the first chain, so nothing trades
    on a vol the market has not quoted."""
    state = ctx.state
    values = np.full(len(rows), state.atm_vols.get(symbol, np.nan))
    own = [
        code
        for code, name in ticks.symbol_of_code.items()
        if (terms := contract_terms(name)) is not None and terms[0] == symbol
    ]
    if not own:
        return values
    quote_rows = np.flatnonzero(np.isin(ticks.codes, own))
    names = [ticks.symbol_of_code[c] for c in ticks.codes[quote_rows].tolist()]
    columns = (ticks.ts, ticks.bid, ticks.ask, ticks.mid)
    known = state.quotes.get(symbol)  # signals run before any of the segment's ticks land
    before = known.mid if known is not None else None
    for chain_rows, chain in chains_in(
        symbol, quote_rows, names, rows, columns, before, ctx.params.chain
    ):
        vol = atm_vol(chain, state.config.selection.days_to_expiry)
        if np.isfinite(vol):
            values[rows > chain_rows[-1]] = vol
            state.atm_vols[symbol] = vol
    return values
