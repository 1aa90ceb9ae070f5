"""What a hot path derives from a config object, worked out once per object.

Configs are replaced, never changed in place, so a value derived from one stays right for as
long as that object lives. Keyed by identity (hashing a pydantic model per signal would cost
what the cache saves), holding the object so that its id cannot be reused by another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

LIMIT = 4096  # objects remembered; configs replaced over a long life start the cache again


class PerConfig(Generic[K, V]):
    def __init__(self, derive: Callable[[K], V]):
        self._derive = derive
        self._found: dict[int, tuple[K, V]] = {}

    def __call__(self, config: K) -> V:
        found = self._found.get(id(config))
        if found is None or found[0] is not config:
            if len(self._found) >= LIMIT:
                self._found.clear()
            found = self._found[id(config)] = (config, self._derive(config))
        return found[1]
