"""The orders a signal needs, as legs: one constructor per kind of leg.

A leg is an order priced at a quote and sized: closing a held position, opening an equity
position, opening an option from a chain's row, or a resting limit order that the market
crossed. Prices are per unit (per share, or per option share before the 100x multiplier) in
the quote currency; delta and vega are per unit held long (delta in shares-equivalent per
share, vega per 1.00 of volatility per share).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.accounts.state import Quote
from flows.trading.chain import Chain
from flows.trading.orchestrator import OrderIntent
from flows.trading.orders import RestingOrder
from flows.trading.portfolio import FillRequest, Holding
from flows.trading.ticks import mid_price
from schemas.common import AssetClass, Side

OPTION_MULTIPLIER = 100  # shares per listed equity option contract


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, about
# ten times the cost of a plain one, and a signal builds several legs. Nothing changes a leg.
@dataclass(slots=True)
class Leg:
    """One order a signal needs, priced and sized (quantity 0 means sizing found none)."""

    instrument: str
    underlying: str
    asset_class: AssetClass
    multiplier: int
    side: Side
    quantity: int
    opens: bool
    bid: float
    ask: float
    mid: float
    delta: float  # per unit held long, shares-equivalent per share of the contract
    vega: float  # per unit held long, per 1.00 of volatility per share
    expiry_ts: int | None = None
    strike: float | None = None
    is_call: bool | None = None

    @classmethod
    def closing(
        cls,
        holding: Holding,
        bid: float,
        ask: float,
        mid: float,
        delta: float = 1.0,
        vega: float = 0.0,
    ) -> Leg:
        """The order that closes the whole of `holding` at the instrument's quote, with its
        delta and vega per unit (a share's by default)."""
        return cls(
            instrument=holding.instrument,
            underlying=holding.underlying,
            asset_class=holding.asset_class,
            multiplier=holding.multiplier,
            side=Side.SELL if holding.quantity > 0 else Side.BUY,
            quantity=abs(holding.quantity),
            opens=False,
            bid=bid,
            ask=ask,
            mid=mid,
            delta=delta,
            vega=vega,
            expiry_ts=holding.expiry_ts,
            strike=holding.strike,
            is_call=holding.is_call,
        )

    @classmethod
    def equity_opening(cls, symbol: str, side: Side, quantity: int, quote: Quote) -> Leg:
        """Buying (long) or selling short `quantity` shares of `symbol` at its quote."""
        return cls(
            instrument=symbol,
            underlying=symbol,
            asset_class=AssetClass.EQUITY,
            multiplier=1,
            side=side,
            quantity=quantity,
            opens=True,
            bid=quote.bid,
            ask=quote.ask,
            mid=quote.mid,
            delta=1.0,
            vega=0.0,
        )

    @classmethod
    def option_opening(cls, chain: Chain, index: int, side: Side, quantity: int) -> Leg:
        """Buying or writing `quantity` contracts of the chain's row `index` at its quote."""
        return cls(
            instrument=chain.contracts[index],
            underlying=chain.underlying,
            asset_class=AssetClass.OPTION,
            multiplier=OPTION_MULTIPLIER,
            side=side,
            quantity=quantity,
            opens=True,
            bid=float(chain.bid[index]),
            ask=float(chain.ask[index]),
            mid=float(chain.price[index]),
            delta=float(chain.delta[index]),
            vega=float(chain.vega[index]),
            expiry_ts=int(chain.expiry_ts[index]),
            strike=float(chain.strike[index]),
            is_call=bool(chain.is_call[index]),
        )

    @classmethod
    def resting_fill(cls, order: RestingOrder, quantity: int, bid: float, ask: float) -> Leg:
        """`quantity` of a resting order filling against the quote: an entry opens, any other
        order (an exit, a delayed signal exit) closes."""
        return cls(
            instrument=order.instrument,
            underlying=order.underlying,
            asset_class=order.asset_class,
            multiplier=order.multiplier,
            side=order.side,
            quantity=quantity,
            opens=order.purpose == "entry",
            bid=bid,
            ask=ask,
            mid=mid_price(bid, ask),
            delta=1.0,
            vega=0.0,
            expiry_ts=order.expiry_ts,
            strike=order.strike,
            is_call=order.is_call,
        )

    @property
    def price(self) -> float:
        """The touch the order trades against: the ask for a buy, the bid for a sell."""
        return self.ask if self.side == Side.BUY else self.bid

    @property
    def exposure(self) -> int:
        """+1 if the order adds exposure that gains when the underlying rises, -1 if it loses."""
        direction = 1 if self.side == Side.BUY else -1
        return direction * (1 if self.is_call is None or self.is_call else -1)

    def intent(self, ts: int, strength: float) -> OrderIntent:
        """The leg as the orchestrator reads it: at least one unit, and the change it makes to
        the account's net delta and vega."""
        units = self.quantity * self.multiplier * (1 if self.side == Side.BUY else -1)
        return OrderIntent(
            ts=ts,
            symbol=self.underlying,
            instrument=self.instrument,
            side=self.side,
            quantity=max(self.quantity, 1),
            price=self.price,
            multiplier=self.multiplier,
            strength=min(max(strength, 0.0), 1.0),
            opens=self.opens,
            delta=units * self.delta,
            vega=units * self.vega,
        )

    def fill_request(self, ts: int, price: float, commission_cents: int) -> FillRequest:
        """This leg filled at `price` (currency per unit), paying `commission_cents`."""
        return FillRequest.of(self, ts, self.side, self.quantity, price, commission_cents)


def holding_exposure(holding: Holding) -> int:
    """+1 if the holding gains when the underlying rises, -1 if it loses."""
    bullish = holding.is_call is None or holding.is_call
    return (1 if holding.quantity > 0 else -1) * (1 if bullish else -1)
