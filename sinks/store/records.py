"""What the flow recorded, as the control plane lists it: signals, decisions, fills and alerts
a page at a time, and each account's current positions.

A listing filters by run, account and event-time range (`RunFilter`) and pages over a total,
stable order: (ts, row id), newest first or oldest first. A page ends at a `Position`; the next
page holds the rows strictly beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from clickhouse_connect.driver.client import Client
from pydantic import BaseModel

from schemas.trading import Alert, Decision, Fill, PositionSnapshot, Signal
from sinks.store.filters import RunFilter, Where
from sinks.store.rows import select_ordered

M = TypeVar("M", bound=BaseModel)
Order = Literal["desc", "asc"]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: its last row's event time (UTC ms) and row id."""

    ts: int
    row_id: str


@dataclass(frozen=True, slots=True)
class Listing:
    """Which rows, in which order, how many, and from where (None: from the first)."""

    rows: RunFilter
    limit: int
    order: Order = "desc"
    after: Position | None = None


@dataclass(frozen=True, slots=True)
class RecordPage(Generic[M]):
    """One page of rows, and where the next begins (None: this is the last)."""

    items: list[M]
    next: Position | None


def listing_where(listing: Listing, id_column: str) -> Where:
    """The run filter, and the rows strictly beyond `listing.after` in the listing's order."""
    where = listing.rows.where()
    if listing.after is None:
        return where
    beyond = "<" if listing.order == "desc" else ">"
    return where.and_(
        f"(ts {beyond} fromUnixTimestamp64Milli({{cursor_ts:Int64}}, 'UTC') OR "
        f"(ts = fromUnixTimestamp64Milli({{cursor_ts:Int64}}, 'UTC') "
        f"AND {id_column} {beyond} {{cursor_id:String}}))",
        cursor_ts=listing.after.ts,
        cursor_id=listing.after.row_id,
    )


def listing_order(order: Order, id_column: str) -> str:
    direction = "DESC" if order == "desc" else "ASC"
    return f"ts {direction}, {id_column} {direction}"


def _page(
    client: Client, model: type[M], id_column: str, listing: Listing, where: Where
) -> RecordPage[M]:
    """One page of `model`'s rows matching `where` (the listing's own conditions and more)."""
    order_by = listing_order(listing.order, id_column)
    rows = select_ordered(client, model, where.sql, where.parameters, order_by, listing.limit + 1)
    items = rows[: listing.limit]
    if len(rows) <= listing.limit:
        return RecordPage(items, None)
    last = items[-1].model_dump(include={"ts", id_column})
    return RecordPage(items, Position(last["ts"], last[id_column]))


def signals(client: Client, listing: Listing, symbol: str | None) -> RecordPage[Signal]:
    where = listing_where(listing, "signal_id").and_("symbol = {symbol:String}", symbol=symbol)
    return _page(client, Signal, "signal_id", listing, where)


def decisions(
    client: Client,
    listing: Listing,
    symbol: str | None,
    approved: bool | None,
    rule: str | None,
) -> RecordPage[Decision]:
    where = (
        listing_where(listing, "decision_id")
        .and_("symbol = {symbol:String}", symbol=symbol)
        .and_("approved = {approved:Bool}", approved=approved)
        .and_("rule = {rule:String}", rule=rule)
    )
    return _page(client, Decision, "decision_id", listing, where)


def fills(client: Client, listing: Listing, underlying: str | None) -> RecordPage[Fill]:
    where = listing_where(listing, "fill_id").and_(
        "underlying = {symbol:String}", symbol=underlying
    )
    return _page(client, Fill, "fill_id", listing, where)


def alerts(
    client: Client, listing: Listing, severity: str | None, kind: str | None
) -> RecordPage[Alert]:
    where = (
        listing_where(listing, "alert_id")
        .and_("severity = {severity:String}", severity=severity)
        .and_("kind = {kind:String}", kind=kind)
    )
    return _page(client, Alert, "alert_id", listing, where)


def current_positions(
    client: Client, run_id: str, account_id: str | None, underlying: str | None, limit: int
) -> list[PositionSnapshot]:
    """The rows of each account's newest snapshot (one per open position, and the account's
    row with `instrument = ''`), by account and instrument."""
    accounts = RunFilter(run_id, account_id).where()
    where = accounts.and_(
        "(account_id, ts) IN (SELECT account_id, max(ts) FROM position_snapshots "
        f"FINAL WHERE {accounts.sql} GROUP BY account_id)"
    ).and_("underlying = {symbol:String}", symbol=underlying)
    return select_ordered(
        client, PositionSnapshot, where.sql, where.parameters, "account_id, instrument", limit
    )
