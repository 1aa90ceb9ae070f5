"""A resting order as the engine keeps it, and what working it at one quote did."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.common import AssetClass, OrderStatus, OrderType, Side, TimeInForce

STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
FINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


@dataclass(slots=True)
class RestingOrder:
    """An order working at the market. A plain record, not a pydantic model: the engine reads
    and updates it on the hot path.

    Prices are per unit in the quote currency. `active_ts` is when the order reaches the market
    (its decision plus the latency); `expires_ts` when a day order (or an entry's time to live)
    runs out, None for good-till-cancelled. `reference` is a trailing stop's best quote since it
    arrived (the highest bid for a sell, the lowest ask for a buy). `sequence` numbers the
    order's status rows.
    """

    order_id: str
    instrument: str
    underlying: str
    asset_class: AssetClass
    multiplier: int
    side: Side
    quantity: int
    order_type: OrderType
    time_in_force: TimeInForce
    purpose: str
    placed_ts: int
    active_ts: int
    expires_ts: int | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None
    decision_id: str = ""
    parent_id: str = ""
    oco_group: str = ""
    filled: int = 0
    filled_value: float = 0.0  # sum of price * quantity over the fills, for the average
    triggered: bool = False
    reference: float | None = None
    sequence: int = 0
    status: OrderStatus = OrderStatus.NEW
    # an option's terms, for booking its fills (None for shares)
    expiry_ts: int | None = None
    strike: float | None = None
    is_call: bool | None = None

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled

    @property
    def avg_fill_price(self) -> float:
        return self.filled_value / self.filled if self.filled else 0.0

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def waits_for_trigger(self) -> bool:
        return self.order_type in STOP_TYPES and not self.triggered

    @property
    def on_arrival_only(self) -> bool:
        """IOC and FOK act on the first quote after arrival and are done."""
        return self.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)


# Not frozen: made for every fill, and a frozen dataclass's __init__ costs about ten times as
# much (each field through object.__setattr__). Nothing changes an outcome once made.
@dataclass(slots=True)
class Outcome:
    """Working an order at one quote: a fill (`quantity` at `price`, 0 for none), the status the
    order is in afterwards if it changed, and why (for a cancel or a rejection)."""

    quantity: int = 0
    price: float = 0.0
    status: OrderStatus | None = None
    reason: str = ""
