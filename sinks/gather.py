"""Gather keyed items into lists by size or age, for sinks that write in batches.

Like `bytewax.operators.collect`, with two differences that matter on the hot path: the
deadline runs from the first item of a list (Bytewax's restarts with every item, so a steady
stream waits for the size limit), and a recovery snapshot copies the list, not the items in it
(Bytewax deep-copies them all at every epoch; the items here are never changed once emitted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.operators import StatefulLogic

V = TypeVar("V")


@dataclass(slots=True)
class Gathered(Generic[V]):
    items: list[V] = field(default_factory=list)
    due: datetime | None = None


class _GatherLogic(StatefulLogic[V, list[V], Gathered[V]]):
    def __init__(self, state: Gathered[V], timeout: timedelta, max_size: int):
        self.state = state
        self.timeout = timeout
        self.max_size = max_size

    def on_item(self, value: V) -> tuple[Iterable[list[V]], bool]:
        if not self.state.items:
            self.state.due = datetime.now(UTC) + self.timeout  # wall-clock ok: sink batching
        self.state.items.append(value)
        if len(self.state.items) >= self.max_size:
            return [self.state.items], StatefulLogic.DISCARD
        return [], StatefulLogic.RETAIN

    def on_notify(self) -> tuple[Iterable[list[V]], bool]:
        return [self.state.items], StatefulLogic.DISCARD

    def on_eof(self) -> tuple[Iterable[list[V]], bool]:
        return [self.state.items], StatefulLogic.DISCARD

    def notify_at(self) -> datetime | None:
        return self.state.due

    def snapshot(self) -> Gathered[V]:
        return Gathered(list(self.state.items), self.state.due)


def gather(
    step_id: str, up: Stream[tuple[str, V]], timeout: timedelta, max_size: int
) -> Stream[tuple[str, list[V]]]:
    """Per key, lists of up to `max_size` items, none older than `timeout` when emitted."""

    def build(resumed: Gathered[V] | None) -> _GatherLogic[V]:
        return _GatherLogic(resumed or Gathered(), timeout, max_size)

    return op.stateful(step_id, up, build)
