"""One account at work: its state, the run's parameters and the rows it emits, in one object.

Every step of an account's life (`advance`, `apply_control`) makes one `AccountContext` and
hands it to the domain modules, whose functions take it as their first argument. Its methods
are what every step needs: the state row, alerts, status changes, and the one constructor of
each row the account emits (signal, decision, order, fill). Row ids derive from the run, the
account and the input that caused the row, so a replay writes the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flows.accounts.legs import Leg
from flows.accounts.state import AccountParams, AccountState, Outputs
from flows.trading.ids import joined_id, make_id
from flows.trading.orchestrator import Verdict
from flows.trading.orders import RestingOrder
from flows.trading.per_config import PerConfig
from flows.trading.portfolio import FillOutcome
from flows.trading.strategies import RawSignal, StrategyConfig, strategy_name
from schemas.common import (
    Direction,
    ExitReason,
    OrderStatus,
    Severity,
    TradingStatus,
    cents,
    money,
)
from schemas.own_rows import own_row
from schemas.trading import Alert, Decision, Fill, OrderEvent, Signal, TradingState

TEXT_LIMIT = 1000  # characters kept of a reason or a message


# Formatting a strategy's label for every signal cost as much as the rest of the signal row.
_strategy_name: PerConfig[StrategyConfig, str] = PerConfig(strategy_name)


def _direction(value: Direction) -> Direction:
    """The member itself, without calling the enum (a microsecond per signal)."""
    return value if type(value) is Direction else Direction(value)


@dataclass(slots=True)
class AccountContext:
    state: AccountState
    params: AccountParams
    out: Outputs
    # The step's cache of where each resting order next acts in its ticks (flows.accounts.resting)
    # and of the ticks' codes by symbol; both live for one step.
    order_hits: dict[str, int] = field(default_factory=dict)
    code_of: dict[str, int] | None = None
    rows_of: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.params.run_id

    @property
    def account_id(self) -> str:
        return self.state.account_id

    def row_id(self, kind: str, key: str) -> str:
        """The id of the account's `kind` row ("sig", "dec", ...) caused by the input `key`
        (the parts after the kind, joined by ':'): `make_id(run, account, kind, *parts)`."""
        run_id = self.params.run_id
        return joined_id(f"{run_id}:{self.state.config.account_id}:{kind}:{key}", run_id)

    def record_state(self, ts: int) -> None:
        """Emit the account's state (`auto_trade_state`) at event time `ts`, as a new version."""
        state = self.state
        state.version += 1
        # Every snapshot writes one: built as validation would make it (`own_row`), not validated.
        values = {
            "run_id": self.params.run_id,
            "account_id": state.config.account_id,
            "ts": int(ts),
            "status": TradingStatus(state.status),
            "reason": state.status_reason[:TEXT_LIMIT],
            "command_id": state.command_id,
            "config_version": state.config.version,
            "version": state.version,
            "equity": cents(float(state.equity)),
            "cash": cents(money(state.book.cash_cents)),
            "open_positions": len(state.book.holdings),
        }
        self.out.states.append(own_row(TradingState, values))

    def alert(
        self,
        *,
        ts: int,
        kind: str,
        severity: Severity,
        message: str,
        value: float = 0.0,
        threshold: float = 0.0,
        key: object = "",
    ) -> None:
        """Emit an alert; `key` tells apart alerts of one kind at one event time."""
        self.out.alerts.append(
            Alert(
                alert_id=make_id(self.run_id, self.account_id, kind, ts, key),
                run_id=self.run_id,
                account_id=self.account_id,
                ts=ts,
                severity=severity,
                kind=kind,
                message=message[:TEXT_LIMIT],
                value=value,
                threshold=threshold,
            )
        )

    def refuse_command(self, ts: int, command_id: str, kind: str, why: str) -> None:
        """A command that does not apply leaves the account as it was, and says why. The
        message starts "command <id>:", which is how `GET /commands/{id}` finds the refusal."""
        self.alert(
            ts=ts,
            kind=kind,
            severity=Severity.WARNING,
            message=f"command {command_id}: {why}",
            key=command_id,
        )

    def set_status(self, ts: int, status: TradingStatus, reason: str, command_id: str = "") -> None:
        """Move the account to `status` and record it; stopping trading cancels resting orders
        (a `cancelled` row each, a spread's on every leg) and time stops."""
        state = self.state
        state.status = status
        state.status_reason = reason
        state.command_id = command_id
        if status in (TradingStatus.HALTED, TradingStatus.STOPPED, TradingStatus.PAUSED):
            # working orders die with the permission to trade
            legs = [order for spread in state.spread_orders for order in spread.orders]
            for order in [*state.pending, *legs]:
                order.status = OrderStatus.CANCELLED
                self.emit_order_event(order, ts, f"trading {status.value}: {reason}", command_id)
            state.pending.clear()
            state.spread_orders.clear()
            state.time_stops.clear()
            for held in state.open_spreads:
                held.time_stop_at = None
        self.record_state(ts)

    def emit_order_event(
        self, order: RestingOrder, ts: int, reason: str = "", command_id: str = ""
    ) -> None:
        """Emit the order's current status as its next row of `paper_orders`; `command_id`
        names the control command that caused it ('' for the flow's own rows)."""
        # The order record keeps enums, ints and floats, so every value has its field's type.
        values = {
            "event_id": joined_id(f"{order.order_id}:{order.sequence}", order.order_id),
            "order_id": order.order_id,
            "sequence": order.sequence,
            "decision_id": order.decision_id,
            "parent_id": order.parent_id,
            "oco_group": order.oco_group,
            "run_id": self.params.run_id,
            "account_id": self.state.config.account_id,
            "ts": ts,
            "placed_ts": order.placed_ts,
            "instrument": order.instrument,
            "underlying": order.underlying,
            "asset_class": order.asset_class,
            "side": order.side,
            "order_type": order.order_type,
            "time_in_force": order.time_in_force,
            "purpose": order.purpose,
            "quantity": order.quantity,
            "filled_quantity": order.filled,
            "avg_fill_price": round(order.avg_fill_price, 6),
            "limit_price": order.limit_price,
            "stop_price": order.stop_price,
            "trail_amount": order.trail_amount,
            "trail_percent": order.trail_percent,
            "status": order.status,
            "reason": reason[:TEXT_LIMIT],
            "command_id": command_id,
        }
        self.out.order_events.append(own_row(OrderEvent, values))
        order.sequence += 1

    def emit_signal(
        self, signal_id: str, ts: int, symbol: str, raw: RawSignal, price: float
    ) -> None:
        """Emit a strategy's signal on `symbol` at `price` (the mid it read), strength in [0, 1]."""
        config = self.state.config
        values = {
            "signal_id": signal_id,
            "run_id": self.params.run_id,
            "account_id": config.account_id,
            "ts": int(ts),
            "symbol": symbol,
            "strategy": _strategy_name(config.strategy),
            "direction": _direction(raw.direction),
            "strength": float(min(max(raw.strength, 0.0), 1.0)),
            "price": float(price),
            "reason": raw.reason[:TEXT_LIMIT],
            "indicators": raw.indicators,
            "config_version": config.version,
        }
        self.out.signals.append(own_row(Signal, values))

    def emit_decision(
        self, decision_id: str, signal_id: str, ts: int, leg: Leg, verdict: Verdict
    ) -> None:
        """Emit the orchestrator's verdict on a leg, with the rule that decided it."""
        config = self.state.config
        values = {
            "decision_id": decision_id,
            "signal_id": signal_id,
            "run_id": self.params.run_id,
            "account_id": config.account_id,
            "ts": int(ts),
            "symbol": leg.underlying,
            "instrument": leg.instrument,
            "side": leg.side,
            "quantity": int(leg.quantity),
            "price": float(leg.price),
            "approved": verdict.approved,
            "rule": verdict.rule,
            "observed": float(verdict.observed),
            "limit": float(verdict.limit),
            "reason": verdict.reason[:TEXT_LIMIT],
            "config_version": config.version,
        }
        self.out.decisions.append(own_row(Decision, values))

    def emit_fill(
        self,
        outcome: FillOutcome,
        *,
        fill_id: str,
        order_id: str,
        slippage_cents: int,
        reason: str,
        exit_reason: ExitReason = ExitReason.NONE,
        spread_id: str = "",
    ) -> None:
        """Emit a booked fill: what was asked (`outcome.request`) at the price booked, its
        commission and slippage, its realised PnL net of its commission, why it closed, and the
        spread it is a leg of ('' for none)."""
        fill = outcome.request
        # Money is whole cents over 100, which validation's rounding to the cent leaves as is.
        values = {
            "fill_id": fill_id,
            "order_id": order_id,
            "run_id": self.params.run_id,
            "account_id": self.state.config.account_id,
            "ts": int(fill.ts),
            "instrument": fill.instrument,
            "underlying": fill.underlying,
            "asset_class": fill.asset_class,
            "side": fill.side,
            "quantity": int(fill.quantity),
            "price": float(outcome.price),
            "multiplier": int(fill.multiplier),
            "commission": money(fill.commission_cents),
            "slippage": money(slippage_cents),
            "realised_pnl": money(outcome.net_realised_cents),
            "reason": reason,
            "exit_reason": exit_reason,
            "spread_id": spread_id,
        }
        self.out.fills.append(own_row(Fill, values))
