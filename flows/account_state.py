"""An account's state, the rows it emits, and the small helpers every account module shares."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo

import numpy as np

from flows.analytics import DayTracker
from flows.batches import Floats, Int64s
from flows.chain import ChainParams
from flows.ids import make_id
from flows.market import Sample
from flows.portfolio import Book, new_book
from flows.strategies import StrategyState, new_strategy_state
from schemas.common import Severity, TradingStatus
from schemas.config import AlgorithmConfig
from schemas.trading import (
    Alert,
    DailyPerformance,
    Decision,
    Fill,
    Order,
    PositionSnapshot,
    Signal,
    TradingState,
)


@dataclass(frozen=True, slots=True)
class AccountParams:
    run_id: str
    chain: ChainParams = field(default_factory=ChainParams)
    snapshot_interval_ms: int = 60_000
    exchange_tz: str = "America/New_York"
    option_quotes: bool = False  # options trade and mark at market.options quotes, not the model
    option_quote_max_age_ms: int = 900_000  # an older quote does not open a position

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.exchange_tz)


@dataclass(slots=True)
class Quote:
    ts: int
    bid: float
    ask: float
    last: float

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) * 0.5


@dataclass(slots=True)
class PendingOrder:
    """A resting limit order on an equity (options trade at market)."""

    order: Order
    expires_ts: int


@dataclass(slots=True)
class Outputs:
    signals: list[Signal] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    snapshots: list[PositionSnapshot] = field(default_factory=list)
    daily: list[DailyPerformance] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    states: list[TradingState] = field(default_factory=list)
    greeks: list[Sample] = field(default_factory=list)  # quoted chains priced by the first shard

    def extend(self, other: Outputs) -> None:
        for item in fields(self):
            getattr(self, item.name).extend(getattr(other, item.name))

    def __len__(self) -> int:
        return sum(len(getattr(self, item.name)) for item in fields(self))


@dataclass(slots=True)
class AccountState:
    config: AlgorithmConfig
    status: TradingStatus
    book: Book
    strategies: dict[str, StrategyState]
    quotes: dict[str, Quote] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    pending: list[PendingOrder] = field(default_factory=list)
    last_entry_ts: dict[str, int] = field(default_factory=dict)
    # event times of approved orders in the last minute, oldest first (only with a throttle)
    recent_orders: deque[int] = field(default_factory=deque)
    equity: float = 0.0
    peak_equity: float = 0.0
    day: DayTracker = field(default_factory=DayTracker)
    day_end_ms: int | None = None
    next_snapshot_ms: int | None = None
    clock: int = 0
    version: int = 0
    status_reason: str = "initial"
    command_id: str = ""
    breached: bool = False  # a loss limit halted the account; cleared when it is re-armed
    # The shard's symbol table only grows: which of its codes are this account's, and how many
    # of its symbols were looked at (underlyings, and their option contracts when quoted).
    codes: dict[int, str] = field(default_factory=dict)
    codes_seen: int = 0
    atm_vols: dict[str, float] = field(default_factory=dict)  # latest quoted, per underlying

    @property
    def account_id(self) -> str:
        return self.config.account_id


def new_account(config: AlgorithmConfig, status: TradingStatus | None = None) -> AccountState:
    """A fresh account: starting cash, no positions; running if the config is enabled."""
    book = new_book(config.starting_cash)
    cash = book.cash_cents / 100
    initial = status or (TradingStatus.RUNNING if config.enabled else TradingStatus.STOPPED)
    return AccountState(
        config=config,
        status=initial,
        book=book,
        strategies={symbol: new_strategy_state(config.strategy) for symbol in config.symbols},
        equity=cash,
        peak_equity=cash,
    )


# --- recording rows ------------------------------------------------------------------------


def record_state(state: AccountState, params: AccountParams, ts: int, out: Outputs) -> None:
    state.version += 1
    out.states.append(
        TradingState(
            run_id=params.run_id,
            account_id=state.account_id,
            ts=ts,
            status=state.status,
            reason=state.status_reason[:1000],
            command_id=state.command_id,
            config_version=state.config.version,
            version=state.version,
            equity=state.equity,
            cash=state.book.cash_cents / 100,
            open_positions=len(state.book.holdings),
        )
    )


def alert(
    state: AccountState,
    params: AccountParams,
    out: Outputs,
    *,
    ts: int,
    kind: str,
    severity: Severity,
    message: str,
    value: float = 0.0,
    threshold: float = 0.0,
    key: object = "",
) -> None:
    out.alerts.append(
        Alert(
            alert_id=make_id(params.run_id, state.account_id, kind, ts, key),
            run_id=params.run_id,
            account_id=state.account_id,
            ts=ts,
            severity=severity,
            kind=kind,
            message=message[:1000],
            value=value,
            threshold=threshold,
        )
    )


def set_status(
    state: AccountState,
    params: AccountParams,
    out: Outputs,
    ts: int,
    status: TradingStatus,
    reason: str,
    command_id: str = "",
) -> None:
    state.status = status
    state.status_reason = reason
    state.command_id = command_id
    if status in (TradingStatus.HALTED, TradingStatus.STOPPED, TradingStatus.PAUSED):
        state.pending.clear()  # working orders die with the permission to trade
    record_state(state, params, ts, out)


@dataclass(slots=True)
class Ticks:
    """The account's own ticks in a segment: its underlyings' and, with option quotes fed, their
    contracts' quotes; `filled_mid` caches each symbol's mid carried forward along them."""

    ts: Int64s
    codes: np.ndarray
    bid: Floats
    ask: Floats
    last: Floats
    mid: Floats
    partition: np.ndarray
    offsets: Int64s
    symbol_of_code: dict[int, str]
    filled_mid: dict[str, Floats]

    def __len__(self) -> int:
        return int(self.ts.shape[0])
