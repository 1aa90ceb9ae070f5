"""A post-trade guard through a real file backtest on the real engine (chdb): the openings it
refuses are in `auto_decisions` with its rule, and its locks in `alerts`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from flows.runs.backtest import Source, run_backtest
from schemas.config import AlgorithmConfig, Guards, MovingAverageCross, RiskLimits
from schemas.settings import Settings
from tests.flows.runs.test_long_history import write_daily_bars

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


def test_a_loss_cooldown_refuses_openings_in_a_file_backtest(
    settings: Settings, ch: Client, tmp_path: Path
) -> None:
    bars = tmp_path / "daily.csv"
    write_daily_bars(bars, ["AAA", "BBB"], date(2018, 1, 1), date(2021, 12, 31))
    config = AlgorithmConfig(
        account_id="cooled",
        symbols=["AAA", "BBB"],
        strategy=MovingAverageCross(fast=3, slow=8),
        limits=RiskLimits(guards=Guards(loss_cooldown_seconds=20 * 86_400)),  # 20 days
    )
    result = run_backtest(settings, [config], Source(file=bars))
    assert result.run.status == "completed"
    run_id = result.run.run_id
    refused = ch.query(
        "SELECT toUnixTimestamp64Milli(ts), symbol, observed, `limit`, reason "
        "FROM auto_decisions FINAL WHERE run_id = {run:String} AND NOT approved",
        parameters={"run": run_id},
    ).result_rows
    assert refused, "the cooldown refused nothing: the test needs losing trades"
    locks = ch.query(
        "SELECT toUnixTimestamp64Milli(ts), message FROM alerts FINAL "
        "WHERE run_id = {run:String} AND kind = 'loss_cooldown'",
        parameters={"run": run_id},
    ).result_rows
    for ts, symbol, observed, limit, reason in refused:
        assert f"symbol {symbol} locked by loss_cooldown" in reason
        assert limit == 20 * 86_400.0
        assert 0 <= observed < limit
        # The lock that refused it started on that symbol `observed` seconds before.
        start = ts - round(observed * 1000)
        assert any(
            at == start and message.startswith(f"a losing trade on {symbol}")
            for at, message in locks
        )
    rules = ch.query(
        "SELECT DISTINCT rule FROM auto_decisions FINAL "
        "WHERE run_id = {run:String} AND NOT approved",
        parameters={"run": run_id},
    ).result_rows
    assert rules == [("loss_cooldown",)]
