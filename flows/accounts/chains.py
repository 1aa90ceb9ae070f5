"""The option prices an account trades and marks at: the market's quotes when `market.options`
is fed (`AccountParams.option_quotes`), else the synthetic chain's. Prices per share in the
quote currency; Greeks in `flows.trading.pricing` units."""

from __future__ import annotations

from flows.accounts.context import AccountContext
from flows.accounts.legs import Leg
from flows.trading.chain import (
    Chain,
    contract_terms,
    quote_contract,
    quoted_chain,
    synthesize_chain,
)
from flows.trading.portfolio import Holding
from flows.trading.pricing import Greeks


def chain_for(ctx: AccountContext, symbol: str, ts: int) -> Chain:
    """The chain an opening order picks its contracts from: the fresh market quotes when they
    are fed, else the model's chain around the underlying's mid."""
    if ctx.params.option_quotes:
        return fresh_quoted_chain(ctx, symbol, ts)
    return synthesize_chain(symbol, ctx.state.quotes[symbol].mid, ts, ctx.params.chain)


def fresh_quoted_chain(ctx: AccountContext, symbol: str, ts: int) -> Chain:
    """The symbol's contracts with a quote at most `option_quote_max_age_ms` old, priced."""
    state, params = ctx.state, ctx.params
    oldest = ts - params.option_quote_max_age_ms
    fresh = [
        (name, quote)
        for name, quote in state.quotes.items()
        if quote.ts >= oldest and (terms := contract_terms(name)) is not None and terms[0] == symbol
    ]
    return quoted_chain(
        symbol,
        state.quotes[symbol].mid,
        ts,
        [name for name, _ in fresh],
        [quote.bid for _, quote in fresh],
        [quote.ask for _, quote in fresh],
        params.chain,
    )


def contract_quote(
    ctx: AccountContext, holding: Holding, ts: int
) -> tuple[float, float, float, Greeks]:
    """A held contract's (bid, ask, mid, Greeks): its latest market quote when option quotes are
    fed and it has one (whatever its age: it is what the position can trade at), else the
    model's."""
    state, params = ctx.state, ctx.params
    assert holding.expiry_ts is not None
    assert holding.strike is not None and holding.is_call is not None
    spot = state.quotes[holding.underlying].mid
    quote = state.quotes.get(holding.instrument) if params.option_quotes else None
    if quote is not None and holding.expiry_ts > ts:
        chain = quoted_chain(
            holding.underlying,
            spot,
            ts,
            [holding.instrument],
            [quote.bid],
            [quote.ask],
            params.chain,
        )
        greeks = Greeks(*(getattr(chain, name)[0] for name in Greeks._fields))
        return quote.bid, quote.ask, quote.mid, greeks
    return quote_contract(
        holding.underlying,
        spot,
        ts,
        holding.expiry_ts,
        holding.strike,
        holding.is_call,
        params.chain,
    )


def closing_leg(ctx: AccountContext, holding: Holding, ts: int) -> Leg:
    """The order that closes `holding`: a share at its last tick, an option at its contract
    quote (the fed quote, or the synthetic chain's at the underlying's mid)."""
    if holding.expiry_ts is None:
        quote = ctx.state.quotes[holding.underlying]
        return Leg.closing(holding, quote.bid, quote.ask, quote.mid)
    bid, ask, mid, greeks = contract_quote(ctx, holding, ts)
    return Leg.closing(holding, bid, ask, mid, float(greeks.delta), float(greeks.vega))
