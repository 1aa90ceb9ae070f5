"""A run's fingerprint against the real ClickHouse engine: it follows the rows' values, not the
order or batching they were written in, nor the wall clock; one changed value changes it."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from clickhouse_connect.driver.client import Client

from sinks.store.fingerprint import _lines_end_to_end, fingerprinted_tables, run_fingerprint
from sinks.store.rows import insert
from tests.sinks.test_store import fill, signal, snapshot

pytestmark = pytest.mark.integration

T0 = 1_795_000_000_000  # 2026-11-17 UTC
DAY_MS = 86_400_000


def seed(client: Client, run: str, price: float = 100.0, reverse: bool = False) -> None:
    signals = [signal(run, "acct", n, price=price + n) for n in range(6)]
    fills = [fill(run, "acct", n, pnl=n * 1.5, commission=0.65) for n in range(3)]
    snaps = [snapshot(run, "acct", T0 + d * DAY_MS, "AAPL", 100_000.0 + d) for d in range(3)]
    if reverse:
        signals, fills, snaps = signals[::-1], fills[::-1], snaps[::-1]
        for one in signals:  # one row per insert: other parts, other merge order
            insert(client, [one])
    else:
        insert(client, list(signals))
    insert(client, list(fills))
    insert(client, list(snaps))


def test_the_same_rows_give_the_same_fingerprint_whatever_the_write_order(
    module_ch: Client, ch: Client
) -> None:
    """`ch` is a second, fresh database: the same values written in another order, one row per
    insert (other parts, other merges), and the run replayed twice in the first."""
    seed(module_ch, "fp-a")
    seed(module_ch, "fp-a")  # a replay: ReplacingMergeTree collapses it (read FINAL)
    seed(ch, "fp-a", reverse=True)
    a = run_fingerprint(module_ch, "fp-a")
    assert re.fullmatch(r"[0-9a-f]{64}", a)
    assert run_fingerprint(ch, "fp-a") == a


def test_one_changed_value_changes_the_fingerprint(module_ch: Client) -> None:
    seed(module_ch, "fp-c")
    seed(module_ch, "fp-d")
    before = run_fingerprint(module_ch, "fp-d")
    assert before != run_fingerprint(module_ch, "fp-c")  # the run id is part of every row
    changed = signal("fp-d", "acct", 3, price=103.00000000000001)  # one ulp away
    insert(module_ch, [changed])
    assert run_fingerprint(module_ch, "fp-d") != before


def test_an_empty_run_hashes_its_table_names_and_zero_counts(module_ch: Client) -> None:
    expected = hashlib.sha256()
    for table, _ in fingerprinted_tables():
        expected.update(f"{table}\0{0}\0".encode())
    assert run_fingerprint(module_ch, "fp-never") == expected.hexdigest()


def test_a_day_covers_only_that_days_rows_in_the_exchange_time_zone(module_ch: Client) -> None:
    seed(module_ch, "fp-e")
    first = datetime.fromtimestamp(T0 / 1000, UTC).date()
    whole = run_fingerprint(module_ch, "fp-e")
    days = [run_fingerprint(module_ch, "fp-e", first + timedelta(days=d)) for d in range(3)]
    assert len({whole, *days}) == 4
    assert run_fingerprint(module_ch, "fp-e", first + timedelta(days=9)) == run_fingerprint(
        module_ch, "fp-never"
    )
    # 02:00 UTC is still the evening before in New York.
    late = snapshot("fp-f", "acct", T0 - T0 % DAY_MS + 2 * 3_600_000, "AAPL", 1.0)
    insert(module_ch, [late])
    utc_day = datetime.fromtimestamp(late.ts / 1000, UTC).date()
    assert run_fingerprint(module_ch, "fp-f", utc_day) != run_fingerprint(module_ch, "fp-never")
    new_york = run_fingerprint(module_ch, "fp-f", utc_day - timedelta(days=1), "America/New_York")
    assert new_york == run_fingerprint(module_ch, "fp-f", utc_day)


def test_the_fingerprint_leaves_out_the_ingestion_time(module_ch: Client) -> None:
    tables = dict(fingerprinted_tables())
    assert "backtest_runs" not in tables
    assert all("ingested_at" not in columns for columns in tables.values())
    assert {"auto_signals", "paper_fills", "position_snapshots", "option_greeks"} <= set(tables)


def test_a_blocks_lines_hash_as_one_run_of_bytes_as_they_would_one_by_one() -> None:
    """The stream's blocks are hashed from Arrow's data buffer, not line by line: the same bytes
    for text and binary columns, 32- and 64-bit offsets, and blocks that are slices."""
    lines = ["a\t1.5\n", "", "bb\t-0\t\\N", "é\t2026-12-03 07:00:00.000"]
    for kind in (pa.string(), pa.binary(), pa.large_string(), pa.large_binary()):
        column = pa.array(
            [line.encode() if "binary" in str(kind) else line for line in lines], kind
        )
        for start, stop in ((0, 4), (1, 3), (2, 4), (3, 3)):
            expected = "".join(lines[start:stop]).encode()
            assert bytes(_lines_end_to_end(column.slice(start, stop - start))) == expected
