"""The one filter of every read over a run's rows: the run, an account, an event-time range.

Conditions are fixed SQL text written in the store, with `{name:Type}` placeholders; the values
a caller chose are always bound as query parameters, never formatted into the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Where:
    """Conditions ANDed together, and the values bound to their placeholders."""

    conditions: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)

    def and_(self, condition: str, **values: Any) -> Where:
        """Also `condition` (fixed text), its placeholders bound to `values`. A filter the
        caller left out (a value of None) adds nothing."""
        if any(value is None for value in values.values()):
            return self
        return Where((*self.conditions, condition), {**self.parameters, **values})

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) or "1"


@dataclass(frozen=True, slots=True)
class RunFilter:
    """The rows of one run ('live' or a backtest id), optionally of one account, optionally in
    an event-time range: `start` inclusive, `end` exclusive, both UTC epoch milliseconds."""

    run_id: str
    account_id: str | None = None
    start: int | None = None
    end: int | None = None

    def where(self, alias: str = "") -> Where:
        """The conditions on a table's `run_id`, `account_id` and `ts` columns; `alias` (chosen
        by the store, e.g. in a join) qualifies them. Every alias binds the same parameters."""
        column = f"{alias}." if alias else ""
        since = f"{column}ts >= fromUnixTimestamp64Milli({{start:Int64}}, 'UTC')"
        until = f"{column}ts < fromUnixTimestamp64Milli({{end:Int64}}, 'UTC')"
        return (
            Where()
            .and_(f"{column}run_id = {{run:String}}", run=self.run_id)
            .and_(f"{column}account_id = {{account:String}}", account=self.account_id)
            .and_(since, start=self.start)
            .and_(until, end=self.end)
        )
