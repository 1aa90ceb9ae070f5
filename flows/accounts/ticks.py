"""The account's own ticks: the rows of a merged segment that its symbols' quotes make up."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from flows.accounts.context import AccountContext
from flows.trading.chain import contract_terms
from flows.trading.ticks import Floats, Segment, mid_price

_NO_TICKS = Segment(
    ts=np.empty(0, dtype=np.int64),
    codes=np.empty(0, dtype=np.int32),
    symbols=(),
    bid=np.empty(0),
    ask=np.empty(0),
    last=np.empty(0),
    volume=np.empty(0, dtype=np.int64),
    partition=np.empty(0, dtype=np.int32),
    offsets=np.empty(0, dtype=np.int64),
)


@dataclass(slots=True)
class Ticks(Segment):
    """The account's own ticks in a segment: its underlyings' and, with option quotes fed, their
    contracts' quotes. `mids` are their mids, computed once; `filled_mid` caches each symbol's
    mid carried forward along them."""

    mids: Floats
    symbol_of_code: dict[int, str]
    filled_mid: dict[str, Floats]

    @property
    def mid(self) -> Floats:
        return self.mids


def _own_codes(ctx: AccountContext, symbols: tuple[str, ...]) -> dict[int, str]:
    """The shard's codes of the account's symbols, and of their option contracts."""
    state = ctx.state
    if state.codes_seen < len(symbols):
        wanted = set(state.config.symbols)
        for code in range(state.codes_seen, len(symbols)):
            symbol = symbols[code]
            terms = contract_terms(symbol)
            if symbol in wanted or (terms is not None and terms[0] in wanted):
                state.codes[code] = symbol
        state.codes_seen = len(symbols)
    return state.codes


def own_ticks(ctx: AccountContext, seg: Segment | None) -> Ticks:
    """The segment's rows of the account's symbols, in the segment's order."""
    wanted = _own_codes(ctx, seg.symbols) if seg is not None else {}
    if seg is None:
        own = _NO_TICKS
    elif not wanted:
        own = seg.take(np.empty(0, dtype=np.intp))
    else:
        mine = np.isin(seg.codes, list(wanted))
        # Every row is the account's (one symbol traded): its columns as they are, uncopied.
        own = seg if mine.all() else seg.take(np.flatnonzero(mine))
    return Ticks(
        **{item.name: getattr(own, item.name) for item in fields(Segment)},
        mids=mid_price(own.bid, own.ask),
        symbol_of_code={code: wanted[code] for code in np.unique(own.codes).tolist()},
        filled_mid={},
    )


def mid_along(ctx: AccountContext, ticks: Ticks, symbol: str) -> Floats:
    """The symbol's mid carried forward along the account's ticks, computed when first asked.

    Before the symbol's next tick it is its current quote (NaN if it never had one): asked at
    the start of a stretch, before the stretch's ticks are applied, that is right for every row
    from the stretch on, and earlier rows are never read again.
    """
    filled = ticks.filled_mid.get(symbol)
    if filled is None:
        code = next((c for c, s in ticks.symbol_of_code.items() if s == symbol), None)
        known = ctx.state.quotes.get(symbol)
        before = known.mid if known is not None else np.nan
        if code is None:
            filled = np.full(len(ticks), before)
        else:
            positions = np.arange(len(ticks))
            latest = np.maximum.accumulate(np.where(ticks.codes == code, positions, -1))
            filled = np.where(latest >= 0, ticks.mid[np.maximum(latest, 0)], before)
        ticks.filled_mid[symbol] = filled
    return filled
