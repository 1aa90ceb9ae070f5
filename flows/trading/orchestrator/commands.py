"""The trading state machine: what each control command does to an account's status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas.common import TradingStatus
from schemas.config import ControlAction


@dataclass(frozen=True, slots=True)
class Transition:
    """The result of a control command: the resulting status, whether the command applied."""

    status: TradingStatus
    accepted: bool
    reason: str


_ANY: Final = frozenset(TradingStatus)
# action -> (statuses it applies from, resulting status; None keeps the status)
_TRANSITIONS: Final[dict[ControlAction, tuple[frozenset[TradingStatus], TradingStatus | None]]] = {
    ControlAction.START: (
        frozenset({TradingStatus.STOPPED, TradingStatus.HALTED, TradingStatus.PAUSED}),
        TradingStatus.RUNNING,
    ),
    ControlAction.STOP: (_ANY, TradingStatus.STOPPED),
    ControlAction.PAUSE: (
        frozenset({TradingStatus.RUNNING, TradingStatus.REDUCE_ONLY}),
        TradingStatus.PAUSED,
    ),
    ControlAction.RESUME: (
        frozenset({TradingStatus.PAUSED, TradingStatus.REDUCE_ONLY}),
        TradingStatus.RUNNING,
    ),
    ControlAction.REDUCE_ONLY: (
        frozenset({TradingStatus.RUNNING, TradingStatus.PAUSED, TradingStatus.HALTED}),
        TradingStatus.REDUCE_ONLY,
    ),
    ControlAction.KILL_SWITCH: (_ANY, TradingStatus.HALTED),
    ControlAction.CONFIG_UPDATE: (_ANY, None),
    ControlAction.CANCEL_ORDER: (_ANY, None),  # the order, not the status (flows.accounts)
    ControlAction.REPLACE_ORDER: (_ANY, None),
}


def apply_command(status: TradingStatus, action: ControlAction) -> Transition:
    """Apply a control command to an account's status (table in the module docstring)."""
    sources, target = _TRANSITIONS[action]
    if status not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        return Transition(
            status=status,
            accepted=False,
            reason=f"{action.value} does not apply while {status.value}; it applies from {allowed}",
        )
    if target is None:
        return Transition(
            status=status, accepted=True, reason=f"{action.value}: status stays {status.value}"
        )
    reason = f"{action.value}: {status.value} -> {target.value}"
    if action == ControlAction.START and status == TradingStatus.HALTED:
        reason += " (operator re-armed the halted account)"
    return Transition(status=target, accepted=True, reason=reason)
