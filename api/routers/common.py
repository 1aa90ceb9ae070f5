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
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from schemas.common import LIVE_RUN, MAX_TS_MS, MIN_TS_MS, AccountId, EventTime, RunId
from sinks.store.filters import RunFilter
from sinks.store.records import Listing, Order, Position, RecordPage

MAX_PAGE = 1000
MAX_RANGE_DAYS = 366
MAX_RANGE_MS = MAX_RANGE_DAYS * 86_400_000
_ROW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


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

    @property
    def position(self) -> Position:
        return Position(self.ts, self.row_id)


def page_of(page: RecordPage[M], order: Order) -> Page[M]:
    """The store's page, where it ended as an opaque cursor for the listing's order."""
    end = page.next
    cursor = None if end is None else Cursor(end.ts, end.row_id, order).encode()
    return Page(items=page.items, next_cursor=cursor)


def record_query(
    run: Annotated[RunId, Query(description="'live', or a backtest's run id.")] = LIVE_RUN,
    account: Annotated[AccountId | None, Query(description="Only this account.")] = None,
    start: Annotated[
        EventTime | None,
        Query(
            alias="from",
            description="Inclusive start: epoch ms (UTC) or ISO-8601 with zone; needs `to`.",
        ),
    ] = None,
    end: Annotated[
        EventTime | None,
        Query(
            alias="to",
            description="Exclusive end: epoch ms (UTC) or ISO-8601 with zone; needs `from`.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
    order: Annotated[Order, Query(description="desc: newest first.")] = "desc",
) -> Listing:
    """The filters and paging every record listing takes."""
    check_range(start, end)
    return Listing(
        rows=RunFilter(run, account, start, end),
        limit=limit,
        order=order,
        after=Cursor.decode(cursor, order).position if cursor is not None else None,
    )


def check_range(start: int | None, end: int | None) -> None:
    """Refuse a half-open, empty, inverted or absurdly long time range (422).

    A range has both ends or none (none: the newest rows, a page at a time): one end alone
    would reach to the first or the last row ever written, past any limit on its span.
    """
    if start is None and end is None:
        return
    if start is None or end is None:
        given, missing = ("from", "to") if end is None else ("to", "from")
        raise unprocessable(
            ("query", missing),
            f"`{given}` needs `{missing}`: a range has both ends and spans at most "
            f"{MAX_RANGE_DAYS} days (leave both out for the newest rows)",
        )
    if end <= start:
        raise unprocessable(("query", "to"), "`to` must be after `from`", end)
    if end - start > MAX_RANGE_MS:
        days = (end - start) / 86_400_000
        raise unprocessable(
            ("query", "to"),
            f"the range spans {days:,.1f} days; at most {MAX_RANGE_DAYS} days per query",
            end,
        )
