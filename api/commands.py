"""The commands this API process sent, so that a command id sent twice is published once.

A client may name its command (`command_id`); sending the same command again (same account,
action, reason and config) answers with the command as first sent and publishes nothing. The
same id for a different command is a conflict. The log keeps the last `CAPACITY` commands in
memory; after a restart a repeat is published again, and the flow ignores it (an account
remembers the ids it took: flows/accounts/control.py). The log also keeps each command's
outcome once it is known, because the tables keep only an account's latest state.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from schemas.config import ControlAction, ControlCommand
from schemas.trading import OrderEvent, TradingState

CAPACITY = 10_000


class CommandOutcome(BaseModel):
    """What became of a command: `pending` until the flow took it, then `applied` (with the
    state or the order rows it produced) or `rejected` (with the reason)."""

    command_id: str
    account_id: str
    action: ControlAction | None = Field(
        description="The command's action; null when this server did not send it."
    )
    status: Literal["pending", "applied", "rejected"]
    reason: str = Field(
        description="Why it was rejected; for an applied one, the reason of the state or of the "
        "first order row it produced."
    )
    state: TradingState | None = Field(default=None, description="The state it produced.")
    orders: list[OrderEvent] = Field(
        default_factory=list,
        description="The order rows it wrote, in the order written: a cancel_order's "
        "`cancelled` row; a replace_order's `replaced` row, then its successor's `new` row; "
        "the cancels of a stop, pause or kill switch.",
    )


class CommandIdConflictError(ValueError):
    """The id names a different command that was sent already."""


@dataclass(eq=False)
class Sent:
    command: ControlCommand
    outcome: CommandOutcome | None = None


def _same(one: ControlCommand, other: ControlCommand) -> bool:
    return one.model_dump(exclude={"ts"}) == other.model_dump(exclude={"ts"})


class CommandLog:
    """Used from the event loop only, so a check and the record that follows are one step."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._sent: OrderedDict[str, Sent] = OrderedDict()

    def claim(self, command: ControlCommand) -> ControlCommand | None:
        """Record `command` before it is published; if its id was sent already, the command as
        first sent (nothing to publish), or `CommandIdConflictError` for a different one."""
        earlier = self._sent.get(command.command_id)
        if earlier is not None:
            if not _same(earlier.command, command):
                first = earlier.command
                raise CommandIdConflictError(
                    f"command id {command.command_id} was used for {first.action.value} on "
                    f"{first.account_id}"
                )
            return earlier.command
        self._sent[command.command_id] = Sent(command)
        while len(self._sent) > self._capacity:
            self._sent.popitem(last=False)
        return None

    def forget(self, command_id: str) -> None:
        """The command was not published after all: a retry may publish it."""
        self._sent.pop(command_id, None)

    def find(self, command_id: str) -> Sent | None:
        return self._sent.get(command_id)
