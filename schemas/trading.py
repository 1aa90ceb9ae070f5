"""What the flow decides and does: signals, decisions, orders, fills, positions, alerts.

Every fact row carries `run_id` ('live' or a backtest id), `account_id` and an id derived from
its inputs, so that a replayed write replaces the earlier row instead of adding a copy.
"""

from __future__ import annotations

import base64
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, Field, model_validator

from schemas.columns import LOW_CARDINALITY, UINT32, UINT64
from schemas.common import (
    MAX_TS_MS,
    MIN_TS_MS,
    STRICT,
    AccountId,
    AssetClass,
    Direction,
    EventTime,
    ExitReason,
    Finite,
    Fraction,
    Identifier,
    Instrument,
    Metrics,
    Money,
    OrderStatus,
    OrderType,
    Price,
    RunId,
    Severity,
    Side,
    Symbol,
    Text,
    TimeInForce,
    TradingDay,
    TradingStatus,
)

Quantity = Annotated[int, Field(gt=0, le=10_000_000, description="Shares or contracts, > 0.")]
SignedQuantity = Annotated[int, Field(ge=-10_000_000, le=10_000_000)]
RuleName = Annotated[str, LOW_CARDINALITY, Field(pattern=r"^[a-z_]{1,40}$", max_length=40)]


class Signal(BaseModel):
    """A strategy's view on a symbol at an event time (`auto_signals`, `strikeflow.signals`)."""

    model_config = STRICT
    table: ClassVar[str] = "auto_signals"
    signal_id: Identifier
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    symbol: Symbol
    strategy: Annotated[str, LOW_CARDINALITY, Field(max_length=40)]
    direction: Direction
    strength: Fraction
    price: Price
    reason: Text
    indicators: Metrics = Field(default_factory=dict)
    config_version: Annotated[int, UINT32, Field(ge=1)]


class Decision(BaseModel):
    """The orchestrator's verdict on a signal, with the rule that decided and what it compared."""

    model_config = STRICT
    table: ClassVar[str] = "auto_decisions"
    decision_id: Identifier
    signal_id: Identifier
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    symbol: Symbol
    instrument: Instrument
    side: Side
    quantity: Annotated[int, Field(ge=0, le=10_000_000)]
    price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    approved: bool
    rule: RuleName
    observed: Finite
    limit: Finite
    reason: Text
    config_version: Annotated[int, UINT32, Field(ge=1)]


class Order(BaseModel):
    """A paper order placed for an approved decision (or by expiry or a kill switch flatten)."""

    model_config = STRICT
    order_id: Identifier
    decision_id: Identifier
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    instrument: Instrument
    underlying: Symbol
    asset_class: AssetClass
    side: Side
    quantity: Quantity
    order_type: OrderType
    limit_price: Price | None = None

    @model_validator(mode="after")
    def _limit_needs_price(self) -> Self:
        if (self.order_type == OrderType.LIMIT) != (self.limit_price is not None):
            raise ValueError("limit_price is required for limit orders and only for them")
        return self


OptionalPrice = Annotated[float | None, Field(default=None, gt=0, allow_inf_nan=False)]


class OrderEvent(BaseModel):
    """One change of an order's status (`paper_orders`, `strikeflow.orders`): its history is
    every row with its `order_id`, in `ts` then `sequence` order; the latest row is its state.

    `parent_id` links a bracket's take-profit and stop-loss to their entry; orders that cancel
    each other share an `oco_group`. `purpose` says what the order is for: `entry`, `signal`
    (an exit the strategy asked for), or the exit kind (`stop_loss`, `take_profit`,
    `trailing_stop`, `time_stop`, `expiry`, `kill_switch`). `filled_quantity` and
    `avg_fill_price` are cumulative; `reason` says why a rejection, cancel or expiry happened.
    `command_id` names the control command that wrote the row: a `cancel_order` (the cancelled
    row), a `replace_order` (the old order's `replaced` row and its successor's `new` row), a
    stop, pause or kill switch that cancelled the order, or the kill switch whose market order
    flattens a position; '' for the flow's own rows.
    """

    model_config = STRICT
    table: ClassVar[str] = "paper_orders"
    event_id: Identifier
    order_id: Identifier
    sequence: Annotated[int, UINT32, Field(ge=0)]
    decision_id: Annotated[str, Field(max_length=128)] = ""
    parent_id: Annotated[str, Field(max_length=128)] = ""
    oco_group: Annotated[str, Field(max_length=128)] = ""
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    placed_ts: EventTime
    instrument: Instrument
    underlying: Symbol
    asset_class: AssetClass
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    purpose: Annotated[str, LOW_CARDINALITY, Field(max_length=40)]
    quantity: Quantity
    filled_quantity: Annotated[int, Field(ge=0, le=10_000_000)]
    avg_fill_price: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    limit_price: OptionalPrice = None
    stop_price: OptionalPrice = None
    trail_amount: OptionalPrice = None
    trail_percent: Annotated[float | None, Field(default=None, gt=0, lt=1)] = None
    status: OrderStatus
    reason: Text = ""
    command_id: Annotated[str, Field(max_length=128)] = ""

    @model_validator(mode="after")
    def _filled_within_quantity(self) -> Self:
        if self.filled_quantity > self.quantity:
            raise ValueError("filled_quantity cannot exceed quantity")
        return self


class Fill(BaseModel):
    """A paper execution (`paper_fills`, `strikeflow.fills`).

    `price` includes slippage; `commission` is charged on top. `realised_pnl` is the profit this
    fill closed, net of this fill's commission. Cash moves by -/+ price * quantity * multiplier.
    `spread_id` is shared by the legs of one multi-leg order filled as one ('' for a single leg).
    """

    model_config = STRICT
    table: ClassVar[str] = "paper_fills"
    fill_id: Identifier
    order_id: Identifier
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    instrument: Instrument
    underlying: Symbol
    asset_class: AssetClass
    side: Side
    quantity: Quantity
    price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    multiplier: Annotated[int, UINT32, Field(ge=1)]
    commission: Money
    slippage: Money
    realised_pnl: Money
    reason: Annotated[str, LOW_CARDINALITY, Field(max_length=40)]
    exit_reason: ExitReason = ExitReason.NONE
    spread_id: Annotated[str, Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9_.:\-]{0,127})?$")] = ""


class Position(BaseModel):
    """An open position, marked to market. Negative quantity is short."""

    model_config = STRICT
    account_id: AccountId
    instrument: Instrument
    underlying: Symbol
    asset_class: AssetClass
    quantity: SignedQuantity
    multiplier: Annotated[int, Field(ge=1)]
    avg_price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    mark_price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    market_value: Money
    unrealised_pnl: Money
    realised_pnl: Money


class PositionSnapshot(BaseModel):
    """Positions every N seconds of event time (`position_snapshots`).

    One row per open position plus one account row with `instrument = ''` that carries the
    account's totals; `cash` and `equity` are the account's on every row. Greeks are position
    Greeks in currency terms (delta in shares, vega per 1.00 of volatility, theta per year).
    `scenario_loss` (currency, positive a loss) is the worst loss over the `max_scenario_loss`
    shock grid: the book's on the account row, the position's own on a position row, 0 when
    the rule is off.
    """

    model_config = STRICT
    table: ClassVar[str] = "position_snapshots"
    row_id: Identifier
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    instrument: Annotated[
        str, LOW_CARDINALITY, Field(max_length=32, pattern=r"^([A-Z][A-Z0-9.\-]{0,31})?$")
    ]
    underlying: Annotated[
        str, LOW_CARDINALITY, Field(max_length=15, pattern=r"^([A-Z][A-Z0-9.\-]{0,14})?$")
    ]
    quantity: SignedQuantity
    avg_price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    mark_price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    market_value: Money
    unrealised_pnl: Money
    realised_pnl: Money
    delta: Finite
    gamma: Finite
    vega: Finite
    theta: Finite
    cash: Money
    equity: Money
    scenario_loss: Money = 0.0


class DailyPerformance(BaseModel):
    """One trading day (exchange time zone) of one account (`daily_performance`)."""

    model_config = STRICT
    table: ClassVar[str] = "daily_performance"
    row_id: Identifier
    run_id: RunId
    account_id: AccountId
    day: TradingDay
    ts: EventTime
    start_equity: Money
    end_equity: Money
    pnl: Money
    return_pct: Finite
    realised_pnl: Money
    commissions: Money
    trades: Annotated[int, UINT32, Field(ge=0)]
    winning_trades: Annotated[int, UINT32, Field(ge=0)]
    losing_trades: Annotated[int, UINT32, Field(ge=0)]
    win_rate: Fraction
    max_drawdown: Fraction
    high_water_mark: Money


class Alert(BaseModel):
    """Something an operator should see: a halt, a breach, bad input, a stale feed."""

    model_config = STRICT
    table: ClassVar[str] = "alerts"
    alert_id: Identifier
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    severity: Severity
    kind: RuleName
    message: Text
    value: Finite = 0.0
    threshold: Finite = 0.0


class TradingState(BaseModel):
    """The applied trading state of an account (`auto_trade_state`, replacing by `version`)."""

    model_config = STRICT
    table: ClassVar[str] = "auto_trade_state"
    run_id: RunId
    account_id: AccountId
    ts: EventTime
    status: TradingStatus
    reason: Text
    command_id: Annotated[str, Field(max_length=128)]
    config_version: Annotated[int, UINT32, Field(ge=0)]
    version: Annotated[int, UINT64, Field(ge=0, description="Increases with every change.")]
    equity: Money
    cash: Money
    open_positions: Annotated[int, UINT32, Field(ge=0)]


class DeadLetter(BaseModel):
    """An input that could not be used, on `strikeflow.deadletter` (key: the original key)."""

    model_config = STRICT
    topic: Annotated[str, Field(max_length=249)]
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    ts: EventTime
    key: Annotated[str | None, Field(max_length=1000)] = None
    raw_b64: Annotated[str, Field(description="The original message value, base64.")]
    reason: Text

    @classmethod
    def of(
        cls,
        topic: str,
        partition: int,
        offset: int,
        ts: int,
        key: bytes | None,
        raw: bytes | None,
        reason: str,
    ) -> DeadLetter:
        """The one constructor of a dead letter: the time clamped into the contract's range,
        the key decoded as far as it can be, the raw bytes in base64, long texts cut."""
        return cls(
            topic=topic[:249],
            partition=partition,
            offset=offset,
            ts=min(max(ts, MIN_TS_MS), MAX_TS_MS),
            key=None if key is None else key.decode("utf-8", "backslashreplace")[:1000],
            raw_b64=base64.b64encode(raw or b"").decode(),
            reason=reason[:1000],
        )


class Trade(BaseModel):
    """A round trip (entry to exit) of one instrument; backtest reports list these."""

    model_config = STRICT
    account_id: AccountId
    instrument: Instrument
    underlying: Symbol
    direction: Direction
    quantity: Quantity
    entry_ts: EventTime
    exit_ts: EventTime
    entry_price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    exit_price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    pnl: Money
    commissions: Money
    exit_reason: ExitReason = ExitReason.NONE  # why the closing fill closed it


__all__ = [
    "Alert",
    "DailyPerformance",
    "DeadLetter",
    "Decision",
    "Fill",
    "Order",
    "Position",
    "PositionSnapshot",
    "Signal",
    "Trade",
    "TradingState",
]
