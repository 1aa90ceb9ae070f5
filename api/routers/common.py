"""What several routers share: 422 answers, time ranges, and cursor pagination.

Pagination: rows come newest first (or oldest first with `order=asc`), ordered by (ts, row id)
so the order is total and stable. A page's `next_cursor` is an opaque token (URL-safe base64 of
the last row's ts and id and the direction); passing it back returns the rows strictly after
that position. Tokens are validated like any input: a tampered one is a 422, never SQL.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from schemas.common import LIVE_RUN, MAX_TS_MS, MIN_TS_MS, AccountId, EventTime, RunId

MAX_PAGE = 1000
MAX_RANGE_DAYS = 366
MAX_RANGE_MS = MAX_RANGE_DAYS * 86_400_000
_ROW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")

Order = Literal["desc", "asc"]
T = TypeVar("T")


def unprocessable(location: tuple[str, ...], message: str, value: object = None) -> Exception:
    """A 422 shaped like FastAPI's own validation errors (`detail` lists the problems)."""
    return RequestValidationError(
        [{"type": "value_error", "loc": location, "msg": message, "input": value}]
    )


class Page(BaseModel, Generic[T]):
    """One page of rows; pass `next_cursor` back as `cursor` for the next (null: no more)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Opaque; null when this is the last page.", default=None
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    ts: int
    row_id: str
    order: Order

    def encode(self) -> str:
        raw = json.dumps([self.ts, self.row_id, self.order], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, order: Order) -> Cursor:
        invalid = unprocessable(("query", "cursor"), "invalid cursor: pass back a next_cursor")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            ts, row_id, direction = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise invalid from None
        if (
            type(ts) is not int
            or not MIN_TS_MS <= ts <= MAX_TS_MS
            or not isinstance(row_id, str)
            or not _ROW_ID.match(row_id)
            or direction not in ("asc", "desc")
        ):
            raise invalid
        if direction != order:
            raise unprocessable(
                ("query", "cursor"), f"this cursor pages order={direction}, not order={order}"
            )
        return cls(ts, row_id, direction)


@dataclass(frozen=True, slots=True)
class RecordQuery:
    """The filters and paging every record listing takes."""

    run: str
    account: str | None
    start: int | None
    end: int | None
    limit: int
    cursor: Cursor | None
    order: Order


def record_query(
    run: Annotated[RunId, Query(description="'live', or a backtest's run id.")] = LIVE_RUN,
    account: Annotated[AccountId | None, Query(description="Only this account.")] = None,
    start: Annotated[
        EventTime | None,
        Query(alias="from", description="Inclusive start: epoch ms (UTC) or ISO-8601 with zone."),
    ] = None,
    end: Annotated[
        EventTime | None,
        Query(alias="to", description="Exclusive end: epoch ms (UTC) or ISO-8601 with zone."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
    order: Annotated[Order, Query(description="desc: newest first.")] = "desc",
) -> RecordQuery:
    check_range(start, end)
    return RecordQuery(
        run=run,
        account=account,
        start=start,
        end=end,
        limit=limit,
        cursor=Cursor.decode(cursor, order) if cursor is not None else None,
        order=order,
    )


def check_range(start: int | None, end: int | None) -> None:
    """Refuse an empty, inverted or absurdly long time range (422)."""
    if start is None or end is None:
        return
    if end <= start:
        raise unprocessable(("query", "to"), "`to` must be after `from`", end)
    if end - start > MAX_RANGE_MS:
        days = (end - start) / 86_400_000
        raise unprocessable(
            ("query", "to"),
            f"the range spans {days:,.1f} days; at most {MAX_RANGE_DAYS} days per query",
            end,
        )


def where_clause(query: RecordQuery, id_column: str) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions (fixed text) and their bound values for the common filters."""
    conditions = ["run_id = {run:String}"]
    parameters: dict[str, Any] = {"run": query.run}
    if query.account is not None:
        conditions.append("account_id = {account:String}")
        parameters["account"] = query.account
    if query.start is not None:
        conditions.append("ts >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')")
        parameters["start"] = query.start
    if query.end is not None:
        conditions.append("ts < fromUnixTimestamp64Milli({end:Int64}, 'UTC')")
        parameters["end"] = query.end
    if query.cursor is not None:
        beyond = "<" if query.order == "desc" else ">"
        conditions.append(
            f"(ts {beyond} fromUnixTimestamp64Milli({{cursor_ts:Int64}}, 'UTC') OR "
            f"(ts = fromUnixTimestamp64Milli({{cursor_ts:Int64}}, 'UTC') "
            f"AND {id_column} {beyond} {{cursor_id:String}}))"
        )
        parameters["cursor_ts"] = query.cursor.ts
        parameters["cursor_id"] = query.cursor.row_id
    return conditions, parameters


def order_clause(query: RecordQuery, id_column: str) -> str:
    direction = "DESC" if query.order == "desc" else "ASC"
    return f"ts {direction}, {id_column} {direction}"
