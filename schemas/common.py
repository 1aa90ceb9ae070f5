"""Field types shared by every contract: event time, prices, money, identifiers, enums.

Conventions (they hold on every topic, table and API response):
- Event time `ts` is an integer number of milliseconds since the Unix epoch, UTC. Inputs may also
  be timezone-aware datetimes or ISO-8601 strings with an offset; naive times are refused.
- Prices are in the quote currency per unit (per share, per option contract before the 100x
  multiplier). Money amounts (cash, PnL, commissions) are rounded to the cent.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints

from schemas.columns import LOW_CARDINALITY

# Event times outside these bounds are data errors, not history or far-future expiries. History
# goes back to the epoch: daily bars of US equities start in the 1970s (and ClickHouse's Date
# type, used for trading days, starts there too).
MIN_TS_MS = 0  # 1970-01-01T00:00:00Z
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z

STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def wall_clock_ms() -> int:
    """The wall clock in UTC ms, for bookkeeping only (when a job ran or a command was sent):
    trading logic reads time from events."""
    return time.time_ns() // 1_000_000  # wall-clock ok: bookkeeping, never trading logic


def money(cents: int) -> float:
    """An amount kept in integer cents, as currency (the accounting is exact in cents)."""
    return cents / 100


def to_epoch_ms(value: Any) -> Any:
    """Coerce an aware datetime or ISO string to epoch milliseconds; refuse naive times."""
    if isinstance(value, bool):
        raise ValueError("timestamp must be epoch milliseconds, not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("timestamp must be a whole number of epoch milliseconds")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"timestamp {value!r} is neither epoch ms nor ISO-8601") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamp must be timezone-aware (UTC); got a naive datetime")
        delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    return value


EventTime = Annotated[
    int,
    Field(
        ge=MIN_TS_MS,
        le=MAX_TS_MS,
        description="Event time, UTC, integer milliseconds since the Unix epoch.",
    ),
    BeforeValidator(to_epoch_ms),
]


def ms_to_datetime(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def datetime_to_ms(value: datetime) -> int:
    """Naive datetimes are read as UTC: chdb returns DateTime64(3, 'UTC') columns without a zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    result: int = to_epoch_ms(value)
    return result


def cents(value: float) -> float:
    return round(value, 2)


Finite = Annotated[float, Field(allow_inf_nan=False)]
# A Field must precede the validators in Annotated, or its constraints leak into the JSON Schema
# under pydantic's own names (gt, le) instead of JSON Schema's (exclusiveMinimum, maximum).
Price = Annotated[float, Field(gt=0, allow_inf_nan=False, description="Price, > 0, finite.")]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Money = Annotated[
    float,
    Field(allow_inf_nan=False, description="Quote-currency amount, rounded to the cent."),
    AfterValidator(cents),
]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]

SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.\-]{0,14}$"
Symbol = Annotated[
    str,
    LOW_CARDINALITY,
    StringConstraints(pattern=SYMBOL_PATTERN, max_length=15),
    Field(description="Upper-case ticker, e.g. AAPL or BRK.B."),
]
# OCC-style option symbols are up to 21 characters; the underlying itself is also an instrument.
Instrument = Annotated[
    str,
    LOW_CARDINALITY,
    StringConstraints(pattern=r"^[A-Z][A-Z0-9.\-]{0,31}$", max_length=32),
    Field(description="The underlying's symbol, or an OCC-style option symbol."),
]
Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$", max_length=128),
    Field(description="Letters, digits and _ . : - ; at most 128 characters."),
]
AccountId = Annotated[
    str,
    LOW_CARDINALITY,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$", max_length=64),
    Field(description="Account id: letters, digits, _ and -; at most 64 characters."),
]
RunId = Annotated[
    str,
    LOW_CARDINALITY,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$", max_length=64),
    Field(description="'live' for live trading, or a backtest id."),
]
Text = Annotated[str, StringConstraints(max_length=1000)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Metrics = Annotated[dict[Annotated[str, StringConstraints(max_length=64)], Finite], Field()]

LIVE_RUN = "live"
# account_id on market-level rows (ticks, Greeks), which belong to no account
MARKET_ACCOUNT = "market"


class Right(StrEnum):
    CALL = "call"
    PUT = "put"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class Direction(StrEnum):
    LONG = "long"
    SHORT = "short"
    FLAT = "flat"


class AssetClass(StrEnum):
    EQUITY = "equity"
    OPTION = "option"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    """How long an order works: the trading day, until cancelled, or only on arrival (IOC fills
    what it can and cancels the rest; FOK fills all at once or nothing)."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"


class BarFill(StrEnum):
    """Where an order decided on a bar of a bar file fills: at that bar's close, or at the next
    bar's open (as backtesting.py does with `trade_on_close=False`)."""

    CLOSE = "close"
    NEXT_OPEN = "next-open"


class ExitReason(StrEnum):
    """Why a fill closed (part of) a position; '' on fills that only open."""

    NONE = ""
    SIGNAL = "signal"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    TIME_STOP = "time_stop"
    EXPIRY = "expiry"
    KILL_SWITCH = "kill_switch"


class TradingStatus(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    PAUSED = "paused"
    REDUCE_ONLY = "reduce_only"
    HALTED = "halted"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def check_date(value: date) -> date:
    if not date(1970, 1, 1) <= value < date(2100, 1, 1):
        raise ValueError("date must be between 1970-01-01 and 2099-12-31")
    return value


TradingDay = Annotated[date, AfterValidator(check_date)]


class PremiumSpread(StrEnum):
    """What the volatility-premium strategy sells: the option alone (naked), a credit vertical
    (the option sold, a wing further out of the money bought), or an iron condor (a put and a
    call credit vertical)."""

    NAKED = "naked"
    VERTICAL = "vertical"
    IRON_CONDOR = "iron_condor"
