"""Identical reads of the flow's records share one query for a moment (single flight).

Fifty dashboards polling "the newest 100 decisions" ask the same question many times a second;
ClickHouse answers each on its own, one after the other on the engine's connection. Here, a
read that is already being answered, or was answered less than `ttl` seconds ago, gets that
answer. The flow writes its records in batches (up to STRIKEFLOW_SINK_MAX_SECONDS, 1 s by
default, after the event), so an answer `ttl` (0.25 s) old tells a reader nothing less than a
fresh one could. Only the flow's records go through here; configs, states, commands and
backtests, which the API itself writes, are always read afresh. A failed read is not kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

TTL_SECONDS = 0.25
MAX_ENTRIES = 1000


class RecentReads:
    """Used from the event loop only. `clock` is monotonic seconds."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,  # wall-clock ok: cache age, not trading
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}

    async def read(self, key: Hashable, answer: Callable[[], Awaitable[T]]) -> T:
        """The answer for `key`: shared with a read of it in flight or younger than the ttl,
        else `answer()`'s."""
        while True:
            now = self._clock()
            found = self._entries.get(key)
            if found is None or (found[1].done() and now - found[0] >= self._ttl):
                return await self._answer(key, now, answer)
            try:
                result: T = await asyncio.shield(found[1])
            except asyncio.CancelledError:
                if found[1].cancelled():  # the reader it waited for went away: ask again
                    continue
                raise
            return result

    async def _answer(self, key: Hashable, now: float, answer: Callable[[], Awaitable[T]]) -> T:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries = {
                k: v for k, v in self._entries.items() if not v[1].done() or now - v[0] < self._ttl
            }
        pending: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, pending)
        try:
            value = await answer()
        except asyncio.CancelledError:
            self._entries.pop(key, None)
            pending.cancel()
            raise
        except Exception as error:
            self._entries.pop(key, None)
            pending.set_exception(error)
            pending.exception()  # retrieved here: a read nobody shared must not warn
            raise
        pending.set_result(value)
        return value
