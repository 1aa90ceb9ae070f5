"""Algorithm configs (versioned), control commands and backtest runs.

An algorithm config is everything one account trades by: the strategy and its parameters, the
symbols, how instruments are chosen and sized, what trading costs, and the risk limits that the
orchestrator enforces. A new version replaces the old one from the event time it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from schemas.columns import UINT32, UINT64
from schemas.common import (
    STRICT,
    AccountId,
    EventTime,
    Metrics,
    OrderType,
    PremiumSpread,
    Right,
    RunId,
    RunStatus,
    ShortText,
    Symbol,
    Text,
    TimeInForce,
)
from schemas.order_terms import OrderTerms

Window = Annotated[int, Field(ge=1, le=10_000)]


def _time_of_day(value: object) -> object:
    """Only "HH:MM[:SS[.ffffff]]" (or a `time`): a number would be read as seconds past
    midnight UTC, an offset-aware time that no naive one can be compared with."""
    if isinstance(value, time | str):
        return value
    raise ValueError('a time of day must be a string "HH:MM" or "HH:MM:SS"')


def _without_offset(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError(
            "a time of day here has no UTC offset: it is read in the hours' `timezone` "
            f'(write "{value.replace(tzinfo=None).isoformat()}" and set timezone)'
        )
    return value


# A wall-clock time in the exchange's zone (the `timezone` beside it), never with an offset: a
# zone has daylight saving, an offset has not, so one of the two would be silently wrong for
# half the year. JSON Schema's "time" format demands a UTC offset, which a local time has not:
# RFC 3339 calls this a partial-time.
LocalTime = Annotated[
    time,
    BeforeValidator(_time_of_day),
    AfterValidator(_without_offset),
    Field(json_schema_extra={"format": "partial-time"}),
]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class MovingAverageCross(BaseModel):
    """Long when the fast SMA crosses above the slow one, flat (or short) when it crosses below.

    `cross` says what a cross is. `touch` (the default): the fast SMA was at or below the slow
    one and is now above (or at or above and now below), so leaving a tie counts.
    `strict`: it was strictly below and is now strictly above, as backtesting.py's
    `crossover` and backtrader's `CrossOver` on consecutive bars, so leaving a tie does not
    count; use it to reproduce their trades.
    """

    model_config = STRICT
    kind: Literal["ma_cross"] = "ma_cross"
    fast: Window = 10
    slow: Window = 30
    allow_short: bool = False
    cross: Literal["touch", "strict"] = "touch"

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast window ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class RsiReversion(BaseModel):
    """Long when Wilder's RSI falls below `oversold`, exit when it rises back above `exit_level`."""

    model_config = STRICT
    kind: Literal["rsi_reversion"] = "rsi_reversion"
    period: Annotated[int, Field(ge=2, le=1000)] = 14
    oversold: Annotated[float, Field(gt=0, lt=100)] = 30.0
    overbought: Annotated[float, Field(gt=0, lt=100)] = 70.0
    exit_level: Annotated[float, Field(gt=0, lt=100)] = 50.0
    allow_short: bool = False

    @model_validator(mode="after")
    def _levels_ordered(self) -> Self:
        if not self.oversold < self.exit_level < self.overbought:
            raise ValueError("levels must satisfy oversold < exit_level < overbought")
        return self


class BollingerBreakout(BaseModel):
    """Long on a close above the upper band, exit on a close back below the middle band."""

    model_config = STRICT
    kind: Literal["bollinger_breakout"] = "bollinger_breakout"
    period: Annotated[int, Field(ge=2, le=10_000)] = 20
    width: Annotated[float, Field(gt=0, le=10)] = 2.0
    allow_short: bool = False


class VolatilityPremium(BaseModel):
    """Sell options when implied volatility exceeds realised by `threshold` (vol points)."""

    model_config = STRICT
    kind: Literal["vol_premium"] = "vol_premium"
    realised_window: Annotated[int, Field(ge=2, le=100_000)] = 390
    threshold: Annotated[float, Field(gt=0, le=5)] = 0.04
    exit_threshold: Annotated[float, Field(ge=0, le=5)] = 0.01
    ticks_per_year: Annotated[float, Field(gt=0)] = 252 * 390.0

    @model_validator(mode="after")
    def _exit_below_entry(self) -> Self:
        if self.exit_threshold >= self.threshold:
            raise ValueError("exit_threshold must be below threshold")
        return self


Strategy = Annotated[
    MovingAverageCross | RsiReversion | BollingerBreakout | VolatilityPremium,
    Field(discriminator="kind"),
]


class SizingMethod(StrEnum):
    FIXED_QUANTITY = "fixed_quantity"
    FIXED_NOTIONAL = "fixed_notional"
    EQUITY_FRACTION = "equity_fraction"


class Sizing(BaseModel):
    """How many shares or contracts an entry buys: a fixed count, a notional, or equity share."""

    model_config = STRICT
    method: SizingMethod = SizingMethod.FIXED_QUANTITY
    quantity: Annotated[int, Field(ge=1, le=10_000_000)] = 100
    notional: Positive = 10_000.0
    fraction: Annotated[float, Field(gt=0, le=1)] = 0.1


class Costs(BaseModel):
    """Commissions and slippage. Slippage moves the fill price against the order."""

    model_config = STRICT
    commission_per_share: NonNegativeFloat = 0.005
    commission_per_contract: NonNegativeFloat = 0.65
    min_commission: NonNegativeFloat = 1.0
    slippage_bps: NonNegativeFloat = 1.0
    slippage_ticks: Annotated[int, Field(ge=0, le=1000)] = 0
    tick_size: Positive = 0.01
    order_type: OrderType = OrderType.MARKET
    limit_offset_bps: NonNegativeFloat = 5.0
    limit_ttl_seconds: Annotated[int, Field(ge=1, le=86_400)] = 300
    # How long a resting entry works: the day (and at most its time to live), until its time
    # to live (gtc), or only on arrival (ioc: what it can, fok: all or nothing).
    time_in_force: TimeInForce = TimeInForce.DAY
    # An order reaches the market this long after its decision and fills at the quote of that
    # moment (the instrument's first tick at or after it); 0 fills at the deciding tick.
    latency_ms: Annotated[int, Field(ge=0, le=3_600_000)] = 0
    # A quote older than this fills nothing (the order is rejected); None accepts any age.
    max_quote_age_ms: Annotated[int, Field(ge=0, le=86_400_000)] | None = None


class Exits(BaseModel):
    """Resting exits placed when an entry fills (a bracket: one OCO group), as fractions of the
    entry price or an amount in currency per unit; `None` switches one off.

    The take-profit is a limit order, the stop-loss a stop, the trailing stop follows the best
    bid (long) or ask (short) since the entry; the first to fill cancels the others. The time
    stop closes the position at market `time_stop_seconds` of event time after the entry.
    """

    model_config = STRICT
    stop_loss_pct: Annotated[float, Field(gt=0, lt=1)] | None = None
    take_profit_pct: Annotated[float, Field(gt=0, le=100)] | None = None
    trailing_stop_pct: Annotated[float, Field(gt=0, lt=1)] | None = None
    trailing_stop_amount: Positive | None = None
    time_stop_seconds: Annotated[int, Field(ge=1, le=86_400 * 365)] | None = None

    @model_validator(mode="after")
    def _one_trail(self) -> Self:
        if self.trailing_stop_pct is not None and self.trailing_stop_amount is not None:
            raise ValueError("a trailing stop is by percent or by amount, not both")
        return self

    @property
    def any(self) -> bool:
        return any(
            value is not None
            for value in (
                self.stop_loss_pct,
                self.take_profit_pct,
                self.trailing_stop_pct,
                self.trailing_stop_amount,
                self.time_stop_seconds,
            )
        )


class InstrumentKind(StrEnum):
    UNDERLYING = "underlying"
    OPTION = "option"


class InstrumentSelection(BaseModel):
    """Trade the underlying, or the option nearest `target_delta` and `days_to_expiry`.

    With options, a bullish signal buys a call and a bearish one buys a put (`right = auto`);
    the volatility-premium strategy sells them instead: naked by default, or as a defined-risk
    spread (`premium_spread`) whose bought wing is `wing_width` (strike distance, quote
    currency) further out of the money than the sold strike.
    """

    model_config = STRICT
    kind: InstrumentKind = InstrumentKind.UNDERLYING
    target_delta: Annotated[float, Field(gt=0, lt=1)] = 0.30
    days_to_expiry: Annotated[int, Field(ge=0, le=1000)] = 30
    right: Right | Literal["auto"] = "auto"
    premium_spread: PremiumSpread = PremiumSpread.NAKED
    wing_width: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] = 5.0


class TradingHours(BaseModel):
    """Orders are accepted on weekdays between `open` and `close` in `timezone`."""

    model_config = STRICT
    timezone: Annotated[str, Field(max_length=64)] = "America/New_York"
    open: LocalTime = time(9, 30)
    close: LocalTime = time(16, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _open_before_close(self) -> Self:
        if self.open >= self.close:
            raise ValueError("open must be before close")
        return self


GuardSeconds = Annotated[int, Field(ge=1, le=86_400 * 30)]
# The account remembers this many closed trades per symbol (and losses per scope) for its guards.
TRADES_REMEMBERED = 100
TradeCount = Annotated[int, Field(ge=1, le=TRADES_REMEMBERED)]


class LossStreak(BaseModel):
    """`count` losing trades closed within `window_seconds` lock the symbol (`scope: symbol`,
    counting that symbol's losses) or the whole account (`scope: account`, counting all) for
    `lock_seconds`."""

    model_config = STRICT
    count: TradeCount
    window_seconds: GuardSeconds
    lock_seconds: GuardSeconds
    scope: Literal["symbol", "account"] = "symbol"


class WindowDrawdown(BaseModel):
    """Equity `max_drawdown` (a fraction) below its peak within the trailing `window_seconds` of
    event time locks the account for `lock_seconds`."""

    model_config = STRICT
    max_drawdown: Annotated[float, Field(gt=0, lt=1)]
    window_seconds: GuardSeconds
    lock_seconds: GuardSeconds


class LowPerformance(BaseModel):
    """A symbol whose last `trades` closed trades lost more than `max_loss` (currency, net of
    commissions) in total is locked for `lock_seconds`."""

    model_config = STRICT
    trades: TradeCount
    max_loss: NonNegativeFloat
    lock_seconds: GuardSeconds


class Guards(BaseModel):
    """Post-trade guards: what closed trades and equity did lock symbols or the account for a
    while. Each is off when None. They only ever block orders that open exposure."""

    model_config = STRICT
    loss_cooldown_seconds: GuardSeconds | None = None
    loss_streak: LossStreak | None = None
    window_drawdown: WindowDrawdown | None = None
    low_performance: LowPerformance | None = None


ShockList = Annotated[
    list[Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]], Field(max_length=10)
]


class RiskLimits(BaseModel):
    """The orchestrator's rules. `None` switches a limit off.

    `max_scenario_loss` (currency) bounds the book's worst loss over the shock grid: every
    underlying's spot moved by 0 and ±each of `scenario_spot_pct` (fractions), with every
    option's volatility moved by 0 and ±each of `scenario_vol_points` (1.00 = 100 points).
    """

    model_config = STRICT
    min_strength: Annotated[float, Field(ge=0, le=1)] = 0.0
    max_open_positions: Annotated[int, Field(ge=0, le=10_000)] | None = 10
    max_order_quantity: Annotated[int, Field(ge=1)] | None = None
    max_order_notional: Positive | None = None
    max_symbol_quantity: Annotated[int, Field(ge=1)] | None = None
    max_symbol_notional: Positive | None = None
    max_daily_loss: Positive | None = None
    max_drawdown: Annotated[float, Field(gt=0, lt=1)] | None = None
    cooldown_seconds: Annotated[int, Field(ge=0, le=86_400 * 30)] = 0
    max_orders_per_minute: Annotated[int, Field(ge=1)] | None = None
    trading_hours: TradingHours | None = Field(default_factory=TradingHours)
    max_abs_delta: Positive | None = None
    max_abs_vega: Positive | None = None
    allow_duplicate_entry: bool = False
    guards: Guards = Field(default_factory=Guards)
    max_scenario_loss: Positive | None = None
    # Plain defaults (pydantic copies them per model), so that the JSON Schema, and the
    # console's form built from it, shows them.
    scenario_spot_pct: ShockList = [0.05, 0.10]
    scenario_vol_points: ShockList = [0.05]


class AlgorithmConfig(BaseModel):
    """One account's algorithm, versioned (`algorithm_configs`, control `config_update`)."""

    model_config = STRICT
    table: ClassVar[str] = "algorithm_configs"
    account_id: AccountId
    version: Annotated[int, UINT32, Field(ge=1)] = 1
    name: ShortText = ""
    enabled: bool = True
    symbols: Annotated[list[Symbol], Field(min_length=1, max_length=500)]
    strategy: Strategy = Field(default_factory=MovingAverageCross)
    sizing: Sizing = Field(default_factory=Sizing)
    costs: Costs = Field(default_factory=Costs)
    selection: InstrumentSelection = Field(default_factory=InstrumentSelection)
    limits: RiskLimits = Field(default_factory=RiskLimits)
    exits: Exits = Field(default_factory=Exits)
    starting_cash: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] = 100_000.0
    created_ts: EventTime = 946_684_800_000

    @field_validator("symbols")
    @classmethod
    def _unique_symbols(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("symbols must not repeat")
        return value


class ControlAction(StrEnum):
    START = "start"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    REDUCE_ONLY = "reduce_only"
    KILL_SWITCH = "kill_switch"
    CONFIG_UPDATE = "config_update"
    CANCEL_ORDER = "cancel_order"
    REPLACE_ORDER = "replace_order"


class ControlCommand(OrderTerms):
    """A command on `strikeflow.control` (key: account). `config` comes with config_update only;
    `order_id` (the working order) with cancel_order and replace_order only; the new terms
    (`OrderTerms`: at least one) with replace_order only."""

    model_config = STRICT
    command_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")]
    account_id: AccountId
    ts: EventTime
    action: ControlAction
    reason: Text = ""
    config: AlgorithmConfig | None = None
    order_id: Annotated[str, Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9_.:\-]{0,127})?$")] = ""

    @model_validator(mode="after")
    def _config_with_update_only(self) -> Self:
        if (self.action == ControlAction.CONFIG_UPDATE) != (self.config is not None):
            raise ValueError("config is required for config_update and only for it")
        on_order = self.action in (ControlAction.CANCEL_ORDER, ControlAction.REPLACE_ORDER)
        if on_order != bool(self.order_id):
            raise ValueError(
                "order_id is required for cancel_order and replace_order and only for them"
            )
        if (self.action == ControlAction.REPLACE_ORDER) != bool(self.changes):
            raise ValueError(
                "new terms (quantity, limit_price, stop_price, trail_amount or trail_percent) "
                "are required for replace_order and only for it"
            )
        if self.config is not None and self.config.account_id != self.account_id:
            raise ValueError("config.account_id must match account_id")
        return self


Duration = Annotated[
    str,
    Field(
        max_length=16,
        pattern=r"^\d+(\.\d+)?[smhdw]$",
        description="A length of event time: a number and s, m, h, d or w (`90d`).",
    ),
]


class WalkForwardRequest(BaseModel):
    """A walk-forward to run over a finished sweep (see flows/trading/research/windows.py)."""

    model_config = STRICT
    train: Duration
    test: Duration
    anchored: bool = False
    objective: Literal["sharpe", "sortino", "calmar", "total_return", "psr"] = "sharpe"


class ResearchRequest(BaseModel):
    """The research a backtest was launched with, run when its replay completes."""

    model_config = STRICT
    walk_forward: WalkForwardRequest | None = None
    monte_carlo: Annotated[int, Field(ge=0, le=100_000)] = 0
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0


class BacktestRun(BaseModel):
    """A backtest's record (`backtest_runs`, replacing by `updated_ts`)."""

    model_config = STRICT
    table: ClassVar[str] = "backtest_runs"
    run_id: RunId
    status: RunStatus
    progress: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    source: Annotated[str, Field(max_length=1000)]
    from_ts: EventTime | None = None
    to_ts: EventTime | None = None
    accounts: Annotated[list[AccountId], Field(max_length=1000)]
    configs_json: Annotated[str, Field(max_length=1_000_000)]
    ticks: Annotated[int, UINT64, Field(ge=0)] = 0
    metrics: Metrics = Field(default_factory=dict)
    error: Text = ""
    report_path: Annotated[str, Field(max_length=1000)] = ""
    # SHA-256 of the run's output rows (sinks/store/fingerprint.py); "" until it completes.
    fingerprint: Annotated[str, Field(pattern=r"^([0-9a-f]{64})?$")] = ""
    research: ResearchRequest = Field(default_factory=ResearchRequest)
    created_ts: EventTime
    updated_ts: EventTime

    @staticmethod
    def dump_configs(configs: Sequence[AlgorithmConfig]) -> str:
        """`configs_json` of a run of `configs`."""
        return _CONFIGS.dump_json(list(configs)).decode()

    def configs(self) -> list[AlgorithmConfig]:
        """The algorithm configs the run traded, one per account."""
        return _CONFIGS.validate_json(self.configs_json)


_CONFIGS = TypeAdapter(list[AlgorithmConfig])
