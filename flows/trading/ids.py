"""Deterministic row ids: derived from the inputs that caused a row, never random.

A replay of the same input produces the same ids, so ClickHouse's replacing tables keep one row.
"""

from __future__ import annotations

import hashlib

MAX_ID = 128  # schemas.common.Identifier


def make_id(*parts: object) -> str:
    """The parts joined by ':'; hashed (still deterministic) if that would be too long."""
    text = ":".join(str(part) for part in parts)
    if len(text) <= MAX_ID:
        return text
    digest = hashlib.blake2b(text.encode(), digest_size=20).hexdigest()
    return f"{str(parts[0])[:64]}:h:{digest}"
