"""Control commands applied to one account: start, stop, pause, resume, kill switch, config,
and an operator's cancel or replace of a working order."""

from __future__ import annotations

from flows.accounts.context import AccountContext
from flows.accounts.flatten import flatten
from flows.accounts.replace import NOT_WORKING, replace_order
from flows.accounts.resting import cancel_by_id
from flows.accounts.spread_orders import cancel_spread_by_leg
from flows.accounts.state import AccountParams, AccountState, Outputs
from flows.trading.orchestrator import apply_command
from flows.trading.strategies import new_strategy_state
from schemas.common import Severity, TradingStatus
from schemas.config import AlgorithmConfig, ControlAction, ControlCommand


def apply_control(state: AccountState, command: ControlCommand, params: AccountParams) -> Outputs:
    """Apply a control command at the account's current event time.

    Commands are live human input: they take effect between ticks, where they arrive. A command
    whose id the account took already (among its last 1000: `COMMANDS_REMEMBERED`) is a repeat, sent
    again by a client or the control plane: it changes nothing and emits nothing.
    """
    if command.command_id in state.commands_taken:
        return Outputs()
    state.commands_taken.append(command.command_id)
    ctx = AccountContext(state, params, Outputs())
    ts = max(state.clock, command.ts) if state.clock else command.ts
    if command.action == ControlAction.CONFIG_UPDATE and command.config is not None:
        _update_config(state, command.config)
        if not command.config.enabled and state.status != TradingStatus.STOPPED:
            # A disabled config stops the account; a start is refused until it is enabled again.
            reason = f"config version {command.config.version} is disabled"
            ctx.set_status(ts, TradingStatus.STOPPED, reason, command.command_id)
            return ctx.out
    if command.action in (ControlAction.START, ControlAction.RESUME) and not state.config.enabled:
        _reject(ctx, ts, command, "the account's config is disabled")
        return ctx.out
    if command.action == ControlAction.CANCEL_ORDER:
        _cancel_order(ctx, ts, command)
        return ctx.out
    if command.action == ControlAction.REPLACE_ORDER:
        replace_order(ctx, ts, command)
        return ctx.out
    transition = apply_command(state.status, command.action)
    if not transition.accepted:
        _reject(ctx, ts, command, transition.reason)
        return ctx.out
    if command.action == ControlAction.KILL_SWITCH:
        ctx.alert(
            ts=ts,
            kind="kill_switch",
            severity=Severity.CRITICAL,
            message=f"kill switch by command {command.command_id}: {command.reason or 'no reason'}",
            key=command.command_id,
        )
        # Positions are closed before the halt cancels the resting orders, so the state row
        # that the halt records shows the flattened book.
        flatten(ctx, ts, command.command_id)
    if command.action == ControlAction.START:
        state.breached = False
    reason = transition.reason + (f" ({command.reason})" if command.reason else "")
    ctx.set_status(ts, transition.status, reason, command.command_id)
    return ctx.out


def _cancel_order(ctx: AccountContext, ts: int, command: ControlCommand) -> None:
    """Cancel the named working order (a spread's leg cancels the whole spread); an unknown or
    finished one is refused with an alert."""
    reason = f"cancelled by operator: {command.reason or 'no reason'}"
    cancelled = cancel_by_id(ctx, command.order_id, ts, reason, command.command_id)
    if not cancelled and not cancel_spread_by_leg(
        ctx, command.order_id, ts, reason, command.command_id
    ):
        why = f"order {command.order_id} {NOT_WORKING}"
        ctx.refuse_command(ts, command.command_id, "cancel_rejected", why)


def _reject(ctx: AccountContext, ts: int, command: ControlCommand, why: str) -> None:
    ctx.refuse_command(ts, command.command_id, "command_rejected", why)


def _update_config(state: AccountState, config: AlgorithmConfig) -> None:
    """A new version applies from now on; indicators restart only if the strategy changed."""
    if config.strategy != state.config.strategy:
        state.strategies = {s: new_strategy_state(config.strategy) for s in config.symbols}
    else:
        state.strategies = {
            s: state.strategies.get(s) or new_strategy_state(config.strategy)
            for s in config.symbols
        }
    state.config = config
    state.codes, state.codes_seen = {}, 0  # the symbols may have changed
