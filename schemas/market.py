"""Market data: the input events (ticks, heartbeats, option quotes) and their stored rows."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal, Self

from pydantic import BaseModel, Field, model_validator

from schemas.columns import UINT32, UINT64
from schemas.common import (
    STRICT,
    AccountId,
    EventTime,
    Finite,
    Instrument,
    NonNegative,
    Price,
    Right,
    RunId,
    Symbol,
    TradingDay,
)


def _check_quote(bid: float, ask: float) -> None:
    if bid > ask:
        raise ValueError(f"bid {bid} is above ask {ask} (a crossed quote)")


def _check_sizes(bid_size: int | None, ask_size: int | None) -> None:
    if (bid_size is None) != (ask_size is None):
        raise ValueError("bid_size and ask_size come together (a quote's sizes), or neither")


MAX_SIZE = 10**12
# Strict: a size is a JSON integer; 30.0 or "30" is a dead letter, not a guess.
QuotedSize = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_SIZE,
        strict=True,
        description="Units quoted at that price (shares on a tick, contracts on an option "
        "quote); absent: the row is a price (a bar or a trade), not a quote, and fills whole "
        "at it even with bid = ask.",
    ),
]


class Tick(BaseModel):
    """An underlying quote on `market.ticks` (key: symbol)."""

    model_config = STRICT
    kind: Literal["tick"] = "tick"
    symbol: Symbol
    ts: EventTime
    bid: Price
    ask: Price
    last: Price
    volume: Annotated[
        int, Field(ge=0, le=10**12, description="Shares traded since the last tick.")
    ] = 0
    bid_size: QuotedSize | None = None
    ask_size: QuotedSize | None = None

    @model_validator(mode="after")
    def _bid_not_above_ask(self) -> Self:
        _check_quote(self.bid, self.ask)
        _check_sizes(self.bid_size, self.ask_size)
        return self


class Heartbeat(BaseModel):
    """Tells the flow that a partition of `market.ticks` (or `market.options`) has no data older
    than `ts` to come.

    The feed writes one to every partition at a fixed event-time interval, so a quiet partition
    does not hold back the accounts' ordered merge (see DESIGN.md, 'Time, order and determinism').
    """

    model_config = STRICT
    kind: Literal["heartbeat"] = "heartbeat"
    ts: EventTime


class OptionQuote(BaseModel):
    """An option quote on `market.options` (key: underlying)."""

    model_config = STRICT
    underlying: Symbol
    ts: EventTime
    expiry: TradingDay
    strike: Price
    right: Right
    bid: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    ask: Price
    bid_size: QuotedSize | None = None
    ask_size: QuotedSize | None = None

    @model_validator(mode="after")
    def _bid_not_above_ask(self) -> Self:
        _check_quote(self.bid, self.ask)
        _check_sizes(self.bid_size, self.ask_size)
        return self


class MarketTick(BaseModel):
    """A validated tick as stored in `market_ticks`; `row_id` is (partition << 40) | offset."""

    model_config = STRICT
    table: ClassVar[str] = "market_ticks"
    row_id: Annotated[int, UINT64, Field(ge=0)]
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    symbol: Symbol
    bid: Price
    ask: Price
    last: Price
    volume: Annotated[int, UINT64, Field(ge=0)]
    # NULL, not a sentinel such as 0: a quoted size of 0 (nothing at that price) is data, and
    # NULL says the tick was a price (a bar, a trade) with no quote behind it.
    bid_size: Annotated[int, UINT64, Field(ge=0)] | None = None
    ask_size: Annotated[int, UINT64, Field(ge=0)] | None = None
    source_partition: Annotated[int, UINT32, Field(ge=0)]
    source_offset: Annotated[int, UINT64, Field(ge=0)]


class OptionGreeks(BaseModel):
    """One contract of a chain with its model price and Greeks, as sampled into `option_greeks`.

    vega is per 1.00 of volatility, theta per year, rho per 1.00 of rate (textbook units).
    """

    model_config = STRICT
    table: ClassVar[str] = "option_greeks"
    row_id: Annotated[int, UINT64, Field(ge=0)]
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    underlying: Symbol
    contract: Instrument
    expiry: date
    strike: Price
    right: Right
    spot: Price
    iv: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    bid: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    ask: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    # A market chain's quoted sizes in contracts; NULL for a quote without sizes and for the
    # model's chain (as market_ticks: 0 is a quoted size, nothing at that price).
    bid_size: Annotated[int, UINT64, Field(ge=0)] | None = None
    ask_size: Annotated[int, UINT64, Field(ge=0)] | None = None
    delta: Finite
    gamma: Finite
    vega: Finite
    theta: Finite
    rho: Finite
    days_to_expiry: NonNegative
