"""Deterministic row ids: derived from the inputs that caused a row, never random.

A replay of the same input produces the same ids, so ClickHouse's replacing tables keep one row.
"""

from __future__ import annotations

import hashlib

MAX_ID = 128  # schemas.common.Identifier


def make_id(*parts: object) -> str:
    """The parts joined by ':'; hashed (still deterministic) if that would be too long."""
    return joined_id(":".join(map(str, parts)), parts[0])


def joined_id(text: str, first: object) -> str:
    """`make_id(first, ...)` of parts already joined into `text`: the same id, for the
    per-event path, which formats its ids with one f-string."""
    if len(text) <= MAX_ID:
        return text
    digest = hashlib.blake2b(text.encode(), digest_size=20).hexdigest()
    return f"{str(first)[:64]}:h:{digest}"
