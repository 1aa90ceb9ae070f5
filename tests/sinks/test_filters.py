"""The one run/account/time filter, and the listings' paging: fixed SQL text, bound values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sinks.store.filters import RunFilter, Where
from sinks.store.records import Listing, Position, listing_order, listing_where

HOSTILE = "x' OR 1=1 --"


def test_an_unset_filter_adds_no_condition() -> None:
    where = RunFilter("live").where()
    assert where.conditions == ("run_id = {run:String}",)
    assert where.parameters == {"run": "live"}
    assert Where().sql == "1"
    assert Where().and_("approved = {approved:Bool}", approved=None) == Where()


def test_false_is_a_filter_not_an_absent_one() -> None:
    where = Where().and_("approved = {approved:Bool}", approved=False)
    assert where.sql == "approved = {approved:Bool}"
    assert where.parameters == {"approved": False}


def test_every_part_of_the_filter_is_a_bound_condition() -> None:
    where = RunFilter("bt-1", "alice", 1_795_000_000_000, 1_795_000_100_000).where()
    assert where.sql == (
        "run_id = {run:String} AND account_id = {account:String} "
        "AND ts >= fromUnixTimestamp64Milli({start:Int64}, 'UTC') "
        "AND ts < fromUnixTimestamp64Milli({end:Int64}, 'UTC')"
    )
    assert where.parameters == {
        "run": "bt-1",
        "account": "alice",
        "start": 1_795_000_000_000,
        "end": 1_795_000_100_000,
    }


def test_an_alias_qualifies_the_columns_and_binds_the_same_values() -> None:
    chosen = RunFilter("live", "alice", 1_795_000_000_000)
    joined = chosen.where("d")
    assert all(condition.startswith("d.") for condition in joined.conditions)
    assert joined.parameters == chosen.where().parameters


@given(st.text(max_size=40), st.text(max_size=40))
def test_caller_values_never_reach_the_sql_text(run: str, account: str) -> None:
    where = RunFilter(run, account).where().and_("kind = {kind:String}", kind=run)
    assert where.sql == (
        "run_id = {run:String} AND account_id = {account:String} AND kind = {kind:String}"
    )
    assert where.parameters == {"run": run, "account": account, "kind": run}


def test_filters_are_bound_parameters_never_sql_text() -> None:
    listing = Listing(
        rows=RunFilter(HOSTILE, HOSTILE, 1_795_000_000_000, 1_795_000_100_000),
        limit=10,
        order="desc",
        after=Position(1_795_000_050_000, "id-1"),
    )
    where = listing_where(listing, "signal_id")
    assert all(HOSTILE not in condition for condition in where.conditions)
    assert where.parameters["run"] == where.parameters["account"] == HOSTILE
    assert where.parameters["cursor_id"] == "id-1"
    assert where.parameters["cursor_ts"] == 1_795_000_050_000
    assert "signal_id < {cursor_id:String}" in where.conditions[-1]
    assert listing_order(listing.order, "signal_id") == "ts DESC, signal_id DESC"


def test_ascending_pages_continue_above_their_position() -> None:
    listing = Listing(RunFilter("live"), limit=5, order="asc", after=Position(1, "a"))
    assert "fill_id > {cursor_id:String}" in listing_where(listing, "fill_id").conditions[-1]
    assert listing_order("asc", "fill_id") == "ts ASC, fill_id ASC"
    assert (
        listing_where(Listing(RunFilter("live"), limit=5), "fill_id") == RunFilter("live").where()
    )
