"""Markers that tell the ClickHouse column derivation (schemas/tables.py) what a type cannot.

They ride in `Annotated[...]` metadata and have no effect on validation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    """Overrides the derived ClickHouse type of a field, e.g. `Column("UInt64")`."""

    type: str


LOW_CARDINALITY = Column("LowCardinality(String)")
UINT64 = Column("UInt64")
UINT32 = Column("UInt32")
JSON_TEXT = Column("String")  # nested models stored as their JSON text
