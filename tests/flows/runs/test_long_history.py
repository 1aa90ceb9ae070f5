"""Backtests of any length of history on the real engine (chdb): decades of daily bars, a
century of yearly bars that no single insert may hold, and an insert the server refuses."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from clickhouse_connect.driver.client import Client

from flows.runs.backtest import BacktestFailedError, Source, run_backtest
from schemas.config import AlgorithmConfig, MovingAverageCross
from schemas.settings import Settings
from schemas.tables import Rows
from sinks.clickhouse.writer import Writer, partition_blocks
from sinks.store.runs import backtest_run

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")


def business_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def write_daily_bars(path: Path, symbols: list[str], first: date, last: date) -> int:
    """A random walk of closes per symbol, one bar per business day at the New York close."""
    days = business_days(first, last)
    rng = np.random.default_rng(7)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "symbol", "close"])
        for symbol in symbols:
            closes = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, len(days))))
            for day, close in zip(days, closes, strict=True):
                at = datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
                out.writerow([at.isoformat(), symbol, f"{close:.2f}"])
    return len(days) * len(symbols)


def write_yearly_bars(path: Path, first_year: int, last_year: int) -> None:
    """One bar a year, alternating up and down so that a 2/3 cross trades often."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "symbol", "close"])
        for number, year in enumerate(range(first_year, last_year + 1)):
            close = 100 + 10 * ((number // 3) % 2) + number * 0.01
            out.writerow([f"{year}-06-30T19:00:00Z", "OLD", f"{close:.2f}"])


def partitions(ch: Client, database: str, table: str) -> int:
    return int(
        ch.command(
            "SELECT uniqExact(partition) FROM system.parts "
            f"WHERE database = '{database}' AND table = '{table}' AND active"
        )
    )


def test_twenty_years_of_daily_bars_for_three_symbols_backtest_end_to_end(
    settings: Settings, ch: Client, database: str, tmp_path: Path
) -> None:
    bars = tmp_path / "daily.csv"
    count = write_daily_bars(bars, ["AAA", "BBB", "CCC"], date(2004, 1, 1), date(2023, 12, 31))
    config = AlgorithmConfig(
        account_id="daily",
        symbols=["AAA", "BBB", "CCC"],
        strategy=MovingAverageCross(fast=10, slow=20),
    )
    result = run_backtest(settings, [config], Source(file=bars))
    assert result.run.status == "completed"
    assert result.run.ticks == count
    run_id = result.run.run_id
    years = ch.command(f"SELECT uniqExact(toYear(ts)) FROM paper_fills WHERE run_id = '{run_id}'")
    assert int(years) == 20  # the crosses of a random walk fall in every year
    assert partitions(ch, database, "paper_fills") == 20  # one partition a year
    [account] = result.accounts
    assert len(account.trades) > 100
    assert account.ts[0] < 1_104_537_600_000 < account.ts[-1]  # from 2004 into 2005 and beyond


def test_a_century_of_bars_is_written_in_blocks_the_server_accepts(
    settings: Settings, ch: Client, database: str, tmp_path: Path
) -> None:
    bars = tmp_path / "century.csv"
    write_yearly_bars(bars, 1970, 2099)  # 130 years: more partitions than one insert may hold
    config = AlgorithmConfig(
        account_id="old", symbols=["OLD"], strategy=MovingAverageCross(fast=2, slow=3)
    )
    result = run_backtest(settings, [config], Source(file=bars))
    assert result.run.status == "completed"
    snapshots = ch.command(
        "SELECT uniqExact(toYear(ts)) FROM position_snapshots "
        f"WHERE run_id = '{result.run.run_id}' AND instrument = ''"
    )
    assert int(snapshots) == 130
    assert partitions(ch, database, "position_snapshots") == 130
    assert min(t.entry_ts for t in result.accounts[0].trades) < 0 + 10 * 366 * 86_400_000


def test_an_oversize_insert_is_split_by_year_and_every_row_arrives(
    chdb_dsn: str, ch: Client, database: str
) -> None:
    starts = [datetime(year, 3, 1, tzinfo=UTC) for year in range(1970, 2100)]
    ts = np.array([int(s.timestamp() * 1000) for s in starts for _ in range(2)], dtype=np.int64)
    n = len(ts)
    rows = Rows(
        "alerts",
        {
            "alert_id": [f"a{i}" for i in range(n)],
            "run_id": ["split"] * n,
            "account_id": ["acct"] * n,
            "ts": ts,
            "severity": ["info"] * n,
            "kind": ["test"] * n,
            "message": ["m"] * n,
            "value": np.zeros(n),
            "threshold": np.zeros(n),
        },
    )
    blocks = partition_blocks(rows, 100)
    assert [len(block) for block in blocks] == [200, 60]
    writer = Writer(lambda: ch, max_partitions=100)
    assert writer.write([rows]) == n
    assert int(ch.command("SELECT count() FROM alerts WHERE run_id = 'split'")) == n
    assert partitions(ch, database, "alerts") == 130


def test_a_refused_insert_fails_the_run_with_its_cause_and_the_engine_goes_on(
    settings: Settings, ch: Client, tmp_path: Path
) -> None:
    bars = tmp_path / "century.csv"
    write_yearly_bars(bars, 1970, 2099)
    config = AlgorithmConfig(
        account_id="old", symbols=["OLD"], strategy=MovingAverageCross(fast=2, slow=3)
    )
    unsplit = settings.model_copy(update={"clickhouse_max_partitions_per_insert": 0})
    with pytest.raises(BacktestFailedError) as failure:
        run_backtest(unsplit, [config], Source(file=bars), run_id="bt-refused")
    assert "Too many partitions for single INSERT block" in failure.value.cause
    assert "\n" not in failure.value.cause
    recorded = backtest_run(ch, "bt-refused")
    assert recorded is not None
    assert recorded.status == "failed"
    assert recorded.error == failure.value.cause
    # The same engine, in the same process, runs the next backtest to the end.
    result = run_backtest(settings, [config], Source(file=bars), run_id="bt-after")
    assert result.run.status == "completed"
    assert int(ch.command("SELECT count() FROM paper_fills WHERE run_id = 'bt-after'")) > 0
