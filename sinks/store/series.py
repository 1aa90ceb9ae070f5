"""Time series for charts: each account's equity with its drawdown, and rejections by rule
over time.

Charts need a bounded number of points whatever the run's length: the equity series keeps at
most `points` rows per account, evenly spaced by row, always with the newest. The drawdown of a
kept point is measured from the peak over every row before it, not only the kept ones, so
sampling never hides a peak (it may skip a trough between two kept points).
"""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from sinks.store.filters import RunFilter


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Equity (quote currency) at `ts` (UTC ms); drawdown as a fraction of the peak so far."""

    account_id: str
    ts: int
    equity: float
    drawdown: float


@dataclass(frozen=True, slots=True)
class RejectionCount:
    """Rejected decisions of `rule` in the bucket starting at `ts` (UTC ms)."""

    ts: int
    rule: str
    rejected: int


def equity_series(client: Client, rows: RunFilter, points: int) -> list[EquityPoint]:
    """The account rows (`instrument = ''`) of `position_snapshots`, by account then time."""
    where = rows.where()
    result = client.query(
        "SELECT account_id, ts_ms, equity, drawdown FROM ("
        " SELECT account_id, toUnixTimestamp64Milli(ts) AS ts_ms, equity,"
        "  if(peak > 0, greatest(0, 1 - equity / peak), 0) AS drawdown,"
        "  row_number() OVER (PARTITION BY account_id ORDER BY ts) AS n,"
        "  count() OVER (PARTITION BY account_id) AS total"
        " FROM (SELECT account_id, ts, equity, max(equity) OVER"
        "  (PARTITION BY account_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS peak"
        f"  FROM position_snapshots FINAL WHERE {where.sql} AND instrument = '')"
        ") WHERE (n - 1) % greatest(1, intDiv(total, {points:UInt32})) = 0 OR n = total"
        " ORDER BY account_id, ts_ms",
        parameters={**where.parameters, "points": points},
    )
    return [
        EquityPoint(str(account), int(ts), float(equity), float(drawdown))
        for account, ts, equity, drawdown in result.result_rows
    ]


def rejections_over_time(
    client: Client, rows: RunFilter, bucket_seconds: int
) -> list[RejectionCount]:
    """Rejected decisions per rule per bucket of `bucket_seconds`, by bucket then rule."""
    where = rows.where()
    result = client.query(
        # toStartOfInterval drops the milliseconds' type (DateTime64 -> DateTime)
        "SELECT toUnixTimestamp(toStartOfInterval(ts, INTERVAL {bucket:UInt32} SECOND)) * 1000"
        " AS bucket, rule, count() AS n"
        f" FROM auto_decisions FINAL WHERE {where.sql} AND NOT approved"
        " GROUP BY bucket, rule ORDER BY bucket, rule",
        parameters={**where.parameters, "bucket": bucket_seconds},
    )
    return [RejectionCount(int(ts), str(rule), int(n)) for ts, rule, n in result.result_rows]
