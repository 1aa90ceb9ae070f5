"""The store's reads against the real ClickHouse engine: configs, runs, states, the paged
listings, current positions, analytics, the run's counts and the live heartbeat.

Tests share one database and keep apart by run id (and configs by account id)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from flows.runs.demo import demo_configs
from schemas.common import LIVE_RUN, MARKET_ACCOUNT, RunStatus, TradingStatus
from schemas.config import BacktestRun
from schemas.market import MarketTick
from schemas.trading import (
    Alert,
    DailyPerformance,
    Decision,
    Fill,
    PositionSnapshot,
    Signal,
    TradingState,
)
from sinks.store import records
from sinks.store.analytics import daily_performance, rejections_by_rule, strategy_activity
from sinks.store.configs import config_versions, latest_configs
from sinks.store.filters import RunFilter
from sinks.store.heartbeat import heartbeat_age
from sinks.store.records import Listing, Position
from sinks.store.rows import insert
from sinks.store.runs import backtest_run, backtest_runs
from sinks.store.states import trading_states
from sinks.store.summary import run_counts

pytestmark = pytest.mark.integration

T0 = 1_795_000_000_000


def signal(run: str, account: str, n: int, **changes: Any) -> Signal:
    values: dict[str, Any] = {
        "signal_id": f"{account}-s{n:03d}",
        "run_id": run,
        "account_id": account,
        "ts": T0 + (n // 2) * 1000,  # pairs share a ts: the id breaks the tie
        "symbol": "AAPL",
        "strategy": "ma_cross",
        "direction": "long",
        "strength": 0.5,
        "price": 100.0,
        "reason": "seeded",
        "config_version": 1,
    }
    return Signal(**{**values, **changes})


def decision(of: Signal, approved: bool, rule: str) -> Decision:
    return Decision(
        decision_id=f"{of.signal_id}-d",
        signal_id=of.signal_id,
        run_id=of.run_id,
        account_id=of.account_id,
        ts=of.ts,
        symbol=of.symbol,
        instrument=of.symbol,
        side="buy",
        quantity=10 if approved else 0,
        price=of.price,
        approved=approved,
        rule=rule,
        observed=1.0,
        limit=2.0,
        reason="seeded",
        config_version=1,
    )


def fill(run: str, account: str, n: int, pnl: float, commission: float) -> Fill:
    return Fill(
        fill_id=f"{account}-f{n:03d}",
        order_id=f"{account}-o{n:03d}",
        run_id=run,
        account_id=account,
        ts=T0 + n * 1000,
        instrument="MSFT" if n % 2 else "AAPL",
        underlying="MSFT" if n % 2 else "AAPL",
        asset_class="equity",
        side="sell",
        quantity=10,
        price=100.0,
        multiplier=1,
        commission=commission,
        slippage=0.0,
        realised_pnl=pnl,
        reason="signal",
    )


def snapshot(run: str, account: str, ts: int, instrument: str, equity: float) -> PositionSnapshot:
    return PositionSnapshot(
        row_id=f"{account}-{ts}-{instrument or 'account'}",
        run_id=run,
        account_id=account,
        ts=ts,
        instrument=instrument,
        underlying=instrument,
        quantity=10 if instrument else 0,
        avg_price=100.0 if instrument else 0.0,
        mark_price=101.0 if instrument else 0.0,
        market_value=1010.0 if instrument else 0.0,
        unrealised_pnl=10.0 if instrument else 0.0,
        realised_pnl=0.0,
        delta=10.0 if instrument else 0.0,
        gamma=0.0,
        vega=0.0,
        theta=0.0,
        cash=equity - 1010.0,
        equity=equity,
    )


def test_latest_configs_are_each_accounts_newest_version(module_ch: Client) -> None:
    first, second = demo_configs()[:2]
    disabled = first.model_copy(update={"version": 2, "enabled": False})
    insert(module_ch, [first, disabled, second])
    assert latest_configs(module_ch) == [second]
    assert latest_configs(module_ch, include_disabled=True) == sorted(
        [disabled, second], key=lambda c: c.account_id
    )
    assert [c.version for c in config_versions(module_ch, first.account_id)] == [1, 2]
    assert config_versions(module_ch, "nobody") == []


def test_backtest_runs_come_newest_first_and_by_status(module_ch: Client) -> None:
    def run(run_id: str, status: RunStatus, created: int) -> BacktestRun:
        return BacktestRun(
            run_id=run_id,
            status=status,
            progress=0.0,
            source="file:ticks.csv",
            accounts=["alice"],
            configs_json="[]",
            created_ts=created,
            updated_ts=created,
        )

    insert(
        module_ch, [run("bt-old", RunStatus.COMPLETED, T0), run("bt-new", RunStatus.FAILED, T0 + 1)]
    )
    progressed = run("bt-old", RunStatus.COMPLETED, T0).model_copy(
        update={"progress": 1.0, "updated_ts": T0 + 5}
    )
    insert(module_ch, [progressed])
    assert [r.run_id for r in backtest_runs(module_ch, None, 10)] == ["bt-new", "bt-old"]
    assert [r.run_id for r in backtest_runs(module_ch, "completed", 10)] == ["bt-old"]
    assert [r.run_id for r in backtest_runs(module_ch, None, 1)] == ["bt-new"]
    assert backtest_run(module_ch, "bt-old") == progressed
    assert backtest_run(module_ch, "bt-none") is None


def test_trading_states_are_each_accounts_latest(module_ch: Client) -> None:
    def state(account: str, version: int, status: TradingStatus) -> TradingState:
        return TradingState(
            run_id="states",
            account_id=account,
            ts=T0 + version,
            status=status,
            reason="",
            command_id=f"c{version}",
            config_version=1,
            version=version,
            equity=100_000.0,
            cash=100_000.0,
            open_positions=0,
        )

    insert(module_ch, [state("bob", 1, TradingStatus.RUNNING), state("alice", 1, "running")])
    insert(module_ch, [state("alice", 2, TradingStatus.HALTED)])
    found = trading_states(module_ch, "states")
    assert [(s.account_id, s.status) for s in found] == [("alice", "halted"), ("bob", "running")]
    assert [s.version for s in trading_states(module_ch, "states", "alice")] == [2]
    assert trading_states(module_ch, "other") == []


def test_a_listing_pages_every_row_once_in_order(module_ch: Client) -> None:
    insert(module_ch, [signal("pages", "alice", n) for n in range(5)])
    insert(module_ch, [signal("pages", "bob", 0)])
    for order in ("desc", "asc"):
        seen: list[str] = []
        after: Position | None = None
        while True:
            chosen = Listing(RunFilter("pages", "alice"), limit=2, order=order, after=after)
            page = records.signals(module_ch, chosen, None)
            seen.extend(s.signal_id for s in page.items)
            if page.next is None:
                break
            assert page.next == Position(page.items[-1].ts, page.items[-1].signal_id)
            after = page.next
        expected = [f"alice-s{n:03d}" for n in range(5)]
        assert seen == (expected[::-1] if order == "desc" else expected)


def test_listings_filter_by_time_and_their_own_columns(module_ch: Client) -> None:
    seeded = [signal("listed", "alice", n, symbol="MSFT" if n % 2 else "AAPL") for n in range(6)]
    insert(module_ch, seeded)
    insert(
        module_ch,
        [
            decision(s, s.symbol == "AAPL", "ok" if s.symbol == "AAPL" else "cooldown")
            for s in seeded
        ],
    )
    insert(module_ch, [fill("listed", "alice", n, 0.0, 1.0) for n in range(4)])
    insert(
        module_ch,
        [
            Alert(
                alert_id="a1",
                run_id="listed",
                account_id="alice",
                ts=T0,
                severity="critical",
                kind="halt",
                message="m",
            ),
            Alert(
                alert_id="a2",
                run_id="listed",
                account_id="alice",
                ts=T0,
                severity="info",
                kind="halt",
                message="m",
            ),
        ],
    )
    everything = Listing(RunFilter("listed"), limit=100)
    window = Listing(RunFilter("listed", start=T0 + 1000, end=T0 + 2000), limit=100)
    assert [s.signal_id for s in records.signals(module_ch, window, None).items] == [
        "alice-s003",
        "alice-s002",
    ]
    assert len(records.signals(module_ch, everything, "MSFT").items) == 3
    refused = records.decisions(module_ch, everything, None, False, None).items
    assert {d.rule for d in refused} == {"cooldown"}
    assert len(refused) == 3
    assert records.decisions(module_ch, everything, "MSFT", True, None).items == []
    assert len(records.decisions(module_ch, everything, None, None, "ok").items) == 3
    assert [f.fill_id for f in records.fills(module_ch, everything, "MSFT").items] == [
        "alice-f003",
        "alice-f001",
    ]
    assert [a.alert_id for a in records.alerts(module_ch, everything, "critical", None).items] == [
        "a1"
    ]
    assert len(records.alerts(module_ch, everything, None, "halt").items) == 2


def test_current_positions_are_each_accounts_newest_snapshot(module_ch: Client) -> None:
    insert(
        module_ch,
        [
            snapshot("positions", "alice", T0, "", 100_000.0),
            snapshot("positions", "alice", T0, "AAPL", 100_000.0),
            snapshot("positions", "alice", T0, "MSFT", 100_000.0),
            snapshot("positions", "alice", T0 + 60_000, "", 100_100.0),
            snapshot("positions", "alice", T0 + 60_000, "MSFT", 100_100.0),
            snapshot("positions", "bob", T0, "", 50_000.0),
        ],
    )
    found = records.current_positions(module_ch, "positions", None, None, 100)
    assert [(p.account_id, p.instrument, p.ts) for p in found] == [
        ("alice", "", T0 + 60_000),
        ("alice", "MSFT", T0 + 60_000),
        ("bob", "", T0),
    ]
    assert len(records.current_positions(module_ch, "positions", "alice", None, 100)) == 2
    held = records.current_positions(module_ch, "positions", None, "MSFT", 100)
    assert [(p.account_id, p.instrument) for p in held] == [("alice", "MSFT")]
    assert len(records.current_positions(module_ch, "positions", None, None, 1)) == 1


def test_daily_performance_takes_days_inclusive(module_ch: Client) -> None:
    def day(account: str, when: date) -> DailyPerformance:
        return DailyPerformance(
            row_id=f"{account}-{when}",
            run_id="daily",
            account_id=account,
            day=when,
            ts=T0,
            start_equity=100.0,
            end_equity=101.0,
            pnl=1.0,
            return_pct=0.01,
            realised_pnl=1.0,
            commissions=0.0,
            trades=1,
            winning_trades=1,
            losing_trades=0,
            win_rate=1.0,
            max_drawdown=0.0,
            high_water_mark=101.0,
        )

    days = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]
    insert(module_ch, [day(account, d) for d in days for account in ("bob", "alice")])
    rows = daily_performance(module_ch, "daily", None, days[1], days[2], 100)
    assert [(r.day, r.account_id) for r in rows] == [
        (days[1], "alice"),
        (days[1], "bob"),
        (days[2], "alice"),
        (days[2], "bob"),
    ]
    assert len(daily_performance(module_ch, "daily", "bob", None, None, 100)) == 3
    assert len(daily_performance(module_ch, "daily", None, None, days[0], 100)) == 2


def seed_strategies(client: Client, run: str) -> None:
    trend = [signal(run, "alice", n) for n in range(4)]
    reversion = [signal(run, "bob", n, strategy="rsi_reversion") for n in range(3)]
    insert(client, [*trend, *reversion])
    outcomes = [(True, "ok"), (False, "cooldown"), (False, "cooldown"), (True, "ok")]
    insert(client, [decision(s, *outcome) for s, outcome in zip(trend, outcomes, strict=True)])
    insert(client, [decision(s, False, "max_position") for s in reversion])
    insert(client, [fill(run, "alice", 0, 10.004, 0.35), fill(run, "alice", 1, -2.5, 0.35)])
    insert(client, [fill(run, "carol", 0, 1.0, 0.1)])  # no signal in the run: "unknown"


def test_rejections_count_by_rule_most_first(module_ch: Client) -> None:
    seed_strategies(module_ch, "rejections")
    assert rejections_by_rule(module_ch, RunFilter("rejections")) == [
        ("max_position", 3),
        ("cooldown", 2),
    ]
    assert rejections_by_rule(module_ch, RunFilter("rejections", "alice")) == [("cooldown", 2)]
    later = RunFilter("rejections", start=T0 + 1000)
    assert rejections_by_rule(module_ch, later) == [("cooldown", 1), ("max_position", 1)]


def test_strategy_activity_adds_up_each_strategys_rows(module_ch: Client) -> None:
    seed_strategies(module_ch, "strategies")
    found = {a.strategy: a for a in strategy_activity(module_ch, RunFilter("strategies"))}
    assert list(found) == ["ma_cross", "rsi_reversion", "unknown"]
    trend = found["ma_cross"]
    assert (trend.accounts, trend.signals, trend.approved, trend.rejected) == (1, 4, 2, 2)
    assert (trend.fills, trend.realised_pnl, trend.commissions) == (2, 7.5, 0.7)
    reversion = found["rsi_reversion"]
    assert (reversion.signals, reversion.approved, reversion.rejected, reversion.fills) == (
        3,
        0,
        3,
        0,
    )
    assert (found["unknown"].fills, found["unknown"].realised_pnl) == (1, 1.0)
    only_bob = strategy_activity(module_ch, RunFilter("strategies", "bob"))
    assert [a.strategy for a in only_bob] == ["rsi_reversion"]


def test_run_counts_are_the_runs_rows(module_ch: Client) -> None:
    seed_strategies(module_ch, "counted")
    counts = run_counts(module_ch, "counted")
    assert (counts.ticks, counts.signals, counts.approved, counts.rejected) == (0, 7, 2, 5)
    assert counts.rejected_by_rule == {"cooldown": 2, "max_position": 3}
    assert (counts.fills, counts.alerts) == (3, 0)


def test_the_heartbeat_is_the_age_of_the_last_live_tick(module_ch: Client) -> None:
    assert heartbeat_age(module_ch, "quiet") is None
    tick = MarketTick(
        row_id=1,
        run_id=LIVE_RUN,
        account_id=MARKET_ACCOUNT,
        ts=T0,
        symbol="AAPL",
        bid=99.9,
        ask=100.1,
        last=100.0,
        volume=100,
        source_partition=0,
        source_offset=1,
    )
    insert(module_ch, [tick])
    age = heartbeat_age(module_ch)
    assert age is not None
    assert 0.0 <= age < 60.0
