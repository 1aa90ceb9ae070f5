"""An account's state and parameters, the quotes and resting orders it keeps, and the rows it
emits (`Outputs`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo

from flows.trading.analytics import DayTracker
from flows.trading.chain import ChainParams, ChainSample
from flows.trading.orchestrator import EquityPeaks, Lock, TradeLog
from flows.trading.orders import RestingOrder
from flows.trading.portfolio import Book, new_book
from flows.trading.spread_orders import OpenSpread, RestingSpread
from flows.trading.strategies import StrategyState, new_strategy_state
from flows.trading.ticks import mid_price
from schemas.common import TradingStatus, money
from schemas.config import AlgorithmConfig
from schemas.tables import TableRows
from schemas.trading import (
    Alert,
    DailyPerformance,
    Decision,
    Fill,
    Order,
    OrderEvent,
    PositionSnapshot,
    Signal,
    TradingState,
)

COMMANDS_REMEMBERED = 1000


@dataclass(frozen=True, slots=True)
class AccountParams:
    run_id: str
    chain: ChainParams = field(default_factory=ChainParams)
    snapshot_interval_ms: int = 60_000
    exchange_tz: str = "America/New_York"
    option_quotes: bool = False  # options trade and mark at market.options quotes, not the model
    option_quote_max_age_ms: int = 900_000  # an older quote does not open a position
    # A bar file replayed with --fill next-open: a market order on an instrument with quotes of
    # its own waits for the next one (the next bar's open), whatever the latency.
    fills_at_next_quote: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.exchange_tz)


@dataclass(slots=True)
class Quote:
    """An instrument's latest tick; its sizes are None when the tick quoted none."""

    ts: int
    bid: float
    ask: float
    last: float
    bid_size: int | None = None
    ask_size: int | None = None

    @property
    def mid(self) -> float:
        return mid_price(self.bid, self.ask)


@dataclass(frozen=True, slots=True)
class TimeStop:
    """A position's time stop: at `at` (event time) it is closed at market and the rest of its
    bracket (`oco_group`) is cancelled. `order_id` names the closing order."""

    at: int
    instrument: str
    order_id: str
    parent_id: str
    oco_group: str


@dataclass(slots=True)
class Outputs:
    signals: list[Signal] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    order_events: list[OrderEvent] = field(default_factory=list)  # paper_orders rows
    fills: list[Fill] = field(default_factory=list)
    # Rows no consumer but the table reads: tuples in column order, not models (see TableRows).
    snapshots: TableRows = field(default_factory=lambda: TableRows(PositionSnapshot))
    daily: TableRows = field(default_factory=lambda: TableRows(DailyPerformance))
    alerts: list[Alert] = field(default_factory=list)
    states: list[TradingState] = field(default_factory=list)
    greeks: list[ChainSample] = field(
        default_factory=list
    )  # quoted chains priced by the first shard

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
    pending: list[RestingOrder] = field(default_factory=list)  # working orders, oldest first
    time_stops: list[TimeStop] = field(default_factory=list)
    # working spread orders, oldest first, and the spreads held (flows.accounts.spread_orders)
    spread_orders: list[RestingSpread] = field(default_factory=list)
    open_spreads: list[OpenSpread] = field(default_factory=list)
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
    # Ids of the latest commands taken (applied or refused): one sent again is ignored.
    commands_taken: deque[str] = field(default_factory=lambda: deque(maxlen=COMMANDS_REMEMBERED))
    # The post-trade guards: the closed trades they read, their locks by (rule, symbol or ""
    # for the account), and the equity samples that can still be a window's peak.
    trade_log: TradeLog = field(default_factory=TradeLog)
    guard_locks: dict[tuple[str, str], Lock] = field(default_factory=dict)
    equity_peaks: EquityPeaks = field(default_factory=EquityPeaks)

    @property
    def account_id(self) -> str:
        return self.config.account_id


def new_account(config: AlgorithmConfig, status: TradingStatus | None = None) -> AccountState:
    """A fresh account: starting cash, no positions; running if the config is enabled."""
    book = new_book(config.starting_cash)
    cash = money(book.cash_cents)
    initial = status or (TradingStatus.RUNNING if config.enabled else TradingStatus.STOPPED)
    return AccountState(
        config=config,
        status=initial,
        book=book,
        strategies={symbol: new_strategy_state(config.strategy) for symbol in config.symbols},
        equity=cash,
        peak_equity=cash,
    )
