"""Cursor pagination and time ranges: opaque tokens that only ever decode to safe values."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given
from hypothesis import strategies as st

from api.routers.common import MAX_RANGE_MS, Cursor, check_range, page_of, record_query
from schemas.common import MAX_TS_MS, MIN_TS_MS
from sinks.store.filters import RunFilter
from sinks.store.records import Listing, Order, Position, RecordPage

ROW_IDS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}\Z")


def token(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


ORDERS: tuple[Order, ...] = ("asc", "desc")


@given(st.integers(MIN_TS_MS, MAX_TS_MS), ROW_IDS, st.sampled_from(ORDERS))
def test_a_cursor_decodes_to_what_was_encoded(ts: int, row_id: str, order: Order) -> None:
    cursor = Cursor(ts, row_id, order)
    assert Cursor.decode(cursor.encode(), order) == cursor


@pytest.mark.parametrize(
    "forged",
    [
        token(1_795_000_000_000, "x' OR 1=1 --", "desc"),
        token(1_795_000_000_000, "a b", "desc"),
        token("1795000000000", "a", "desc"),
        token(True, "a", "desc"),
        token(1.5, "a", "desc"),
        token(MAX_TS_MS + 1, "a", "desc"),
        token(1_795_000_000_000, "a", "sideways"),
        token(1_795_000_000_000, "a"),
        token({"ts": 1}),
        "not base64!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "",
    ],
)
def test_forged_cursors_are_refused(forged: str) -> None:
    with pytest.raises(RequestValidationError) as refused:
        Cursor.decode(forged, "desc")
    assert refused.value.errors()[0]["loc"] == ("query", "cursor")


def test_a_cursor_only_pages_in_its_own_direction() -> None:
    ascending = Cursor(1_795_000_000_000, "a", "asc").encode()
    with pytest.raises(RequestValidationError, match="order=asc"):
        Cursor.decode(ascending, "desc")


def test_ranges_have_both_ends_in_order_and_at_most_366_days() -> None:
    check_range(None, None)
    for half_open in ((1_795_000_000_000, None), (None, 1_795_000_000_000)):
        with pytest.raises(RequestValidationError, match="366 days"):
            check_range(*half_open)
    check_range(1_795_000_000_000, 1_795_000_000_000 + MAX_RANGE_MS)
    with pytest.raises(RequestValidationError, match="after"):
        check_range(1_795_000_000_000, 1_795_000_000_000)
    with pytest.raises(RequestValidationError, match="366 days"):
        check_range(1_795_000_000_000, 1_795_000_000_000 + MAX_RANGE_MS + 1)


def test_a_page_hands_back_a_cursor_to_where_it_stopped() -> None:
    page = page_of(RecordPage([], Position(1_795_000_000_000, "id-9")), "asc")
    assert page.next_cursor is not None
    assert Cursor.decode(page.next_cursor, "asc") == Cursor(1_795_000_000_000, "id-9", "asc")
    assert page_of(RecordPage([], None), "desc").next_cursor is None


def test_a_listings_query_becomes_the_stores_listing() -> None:
    cursor = Cursor(1_795_000_050_000, "id-1", "desc").encode()
    listing = record_query("bt-1", "alice", 1_795_000_000_000, 1_795_000_100_000, 10, cursor)
    assert listing == Listing(
        rows=RunFilter("bt-1", "alice", 1_795_000_000_000, 1_795_000_100_000),
        limit=10,
        order="desc",
        after=Position(1_795_000_050_000, "id-1"),
    )
