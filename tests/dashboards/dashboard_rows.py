"""The rows the dashboard query tests run on: two live accounts over two sessions and a sweep
of backtests, built from the schemas' models with values a reader can check by hand."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from clickhouse_connect.driver.client import Client
from pydantic import BaseModel

from dashboards.macros import TimeRange
from schemas.common import to_epoch_ms
from schemas.config import (
    AlgorithmConfig,
    BacktestRun,
    MovingAverageCross,
    RsiReversion,
)
from schemas.market import MarketTick, OptionGreeks
from schemas.tables import column_names, table_of, to_columns
from schemas.trading import (
    Alert,
    DailyPerformance,
    Decision,
    Fill,
    PositionSnapshot,
    Signal,
    TradingState,
)

LIVE = "live"
LIVE_ACCOUNTS = ("alpha", "beta")
SYMBOLS = ("AAPL", "MSFT")
SESSION_OPEN = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 09:30 in New York
DAYS = (date(2026, 11, 23), date(2026, 11, 24))
STEP = timedelta(minutes=10)
STEPS_PER_DAY = 13  # 14:30 to 16:30 UTC
SWEEP_RUN = "bt-sweep-1"
SINGLE_RUN = "bt-2"
BACKTEST_ACCOUNTS = {SWEEP_RUN: ("sweep-fast", "sweep-slow"), SINGLE_RUN: ("bt2-main",)}
BACKTEST_OPEN = datetime(2026, 10, 5, 14, 30, tzinfo=UTC)
TIME_RANGE = TimeRange(
    from_ms=to_epoch_ms(datetime(2026, 10, 1, tzinfo=UTC)),
    to_ms=to_epoch_ms(datetime(2026, 11, 25, tzinfo=UTC)),
    interval_ms=30 * 60_000,
)


def ms(moment: datetime) -> int:
    result: int = to_epoch_ms(moment)
    return result


def session_times(open_at: datetime, days: int) -> list[datetime]:
    return [
        open_at + timedelta(days=day) + STEP * step
        for day in range(days)
        for step in range(STEPS_PER_DAY)
    ]


Position = tuple[str, str, int, float, float, int, float, float, float, float]
# (instrument, underlying, quantity, avg, mark, multiplier, delta, gamma, vega, theta)


def snapshots(run: str, account: str, times: Sequence[datetime]) -> list[PositionSnapshot]:
    """An account row plus a stock and an option position on AAPL and a short MSFT position."""
    rows = []
    for index, moment in enumerate(times):
        aapl = 230.0 + index * 0.25
        msft = 410.0 - index * 0.5
        call = 6.0 + index * 0.05
        positions: list[Position] = [
            ("AAPL", "AAPL", 100, 229.5, aapl, 1, 100.0, 0.0, 0.0, 0.0),
            ("AAPL261218C00230000", "AAPL", 5, 5.8, call, 100, 260.0, 9.5, 1800.0, -2400.0),
            ("MSFT", "MSFT", -50, 411.0, msft, 1, -50.0, 0.0, 0.0, 0.0),
        ]
        market = sum(qty * mark * mult for _, _, qty, _, mark, mult, *_ in positions)
        unrealised = sum(qty * (mark - avg) * mult for _, _, qty, avg, mark, mult, *_ in positions)
        cash = 100_000.0 - sum(qty * avg * mult for _, _, qty, avg, _, mult, *_ in positions)
        common = {
            "run_id": run,
            "account_id": account,
            "ts": ms(moment),
            "cash": round(cash, 2),
            "equity": round(cash + market, 2),
            "realised_pnl": 0.0,
        }
        account_row = ("", "", 0, 0.0, 0.0, 1, 310.0, 9.5, 1800.0, -2400.0)
        # The book's worst shock loss on the account row; the positions carry their own.
        book_loss = 4_000.0 + index
        rows.append(
            snapshot_row(account_row, common, round(market, 2), round(unrealised, 2), book_loss)
        )
        for position in positions:
            _, _, qty, avg, mark, mult, *_ = position
            value, pnl = round(qty * mark * mult, 2), round(qty * (mark - avg) * mult, 2)
            rows.append(snapshot_row(position, common, value, pnl, round(abs(value) * 0.1, 2)))
    return rows


def snapshot_row(
    position: Position,
    common: dict[str, Any],
    market_value: float,
    unrealised: float,
    scenario_loss: float = 0.0,
) -> PositionSnapshot:
    """One snapshot row; the account's own row has the instrument ''."""
    instrument, underlying, qty, avg, mark, _, delta, gamma, vega, theta = position
    return PositionSnapshot(
        row_id=f"{common['run_id']}:{common['account_id']}:{common['ts']}:"
        + (instrument or "account"),
        instrument=instrument,
        underlying=underlying,
        quantity=qty,
        avg_price=avg,
        mark_price=mark,
        market_value=market_value,
        unrealised_pnl=unrealised,
        delta=delta,
        gamma=gamma,
        vega=vega,
        theta=theta,
        scenario_loss=scenario_loss,
        **common,
    )


def daily(run: str, account: str, days: Sequence[date], start: float) -> list[DailyPerformance]:
    """Two writes per day: an intraday row and the day's final row, which replaces it."""
    rows = []
    equity = start
    for number, day in enumerate(days):
        close = equity * (1.01 if number % 2 == 0 else 0.995)
        for moment, end, trades, wins in (
            (datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC), equity + 50, 2, 1),
            (datetime(day.year, day.month, day.day, 21, 0, tzinfo=UTC), close, 6, 4),
        ):
            rows.append(
                DailyPerformance(
                    row_id=f"{run}:{account}:{day.isoformat()}",
                    run_id=run,
                    account_id=account,
                    day=day,
                    ts=ms(moment),
                    start_equity=round(equity, 2),
                    end_equity=round(end, 2),
                    pnl=round(end - equity, 2),
                    return_pct=(end - equity) / equity,
                    realised_pnl=round((end - equity) * 0.6, 2),
                    commissions=4.5,
                    trades=trades,
                    winning_trades=wins,
                    losing_trades=trades - wins,
                    win_rate=wins / trades,
                    max_drawdown=0.012 + 0.001 * number,
                    high_water_mark=round(max(equity, end), 2),
                )
            )
        equity = close
    return rows


REJECTING_RULES = ("cooldown", "max_open_positions", "trading_hours")


def signal_flow(
    run: str, account: str, strategy: str, times: Sequence[datetime]
) -> list[BaseModel]:
    """A signal per symbol per step; every other one approved and filled, the rest rejected."""
    rows: list[BaseModel] = []
    for index, moment in enumerate(times):
        for symbol_index, symbol in enumerate(SYMBOLS):
            number = index * len(SYMBOLS) + symbol_index
            signal = signal_row(run, account, strategy, symbol, number, ms(moment), index)
            decision = decision_row(signal, approved=index % 2 == 0)
            rows += [signal, decision]
            if decision.approved:
                rows.append(fill_row(decision))
    return rows


def signal_row(
    run: str, account: str, strategy: str, symbol: str, number: int, ts: int, index: int
) -> Signal:
    price = 230.0 + index if symbol == "AAPL" else 410.0 - index
    return Signal(
        signal_id=f"{run}:{account}:{symbol}:{number}",
        run_id=run,
        account_id=account,
        ts=ts,
        symbol=symbol,
        strategy=strategy,
        direction="long" if number % 3 else "flat",
        strength=0.4 + 0.05 * (number % 10),
        price=price,
        reason=f"{strategy} crossed on {symbol}",
        indicators={"fast": price * 1.01, "slow": price},
        config_version=1,
    )


def decision_row(signal: Signal, *, approved: bool) -> Decision:
    """Approved for 10 shares, or rejected by one of REJECTING_RULES, 5 ms after the signal."""
    number = int(signal.signal_id.rsplit(":", 1)[1])
    return Decision(
        decision_id=f"{signal.signal_id}:d",
        signal_id=signal.signal_id,
        run_id=signal.run_id,
        account_id=signal.account_id,
        ts=signal.ts + 5,
        symbol=signal.symbol,
        instrument=signal.symbol,
        side="buy",
        quantity=10 if approved else 0,
        price=signal.price,
        approved=approved,
        rule="ok" if approved else REJECTING_RULES[number % len(REJECTING_RULES)],
        observed=float(number % 7),
        limit=5.0,
        reason="within limits" if approved else "limit reached",
        config_version=1,
    )


def fill_row(decision: Decision) -> Fill:
    number = int(decision.signal_id.rsplit(":", 1)[1])
    return Fill(
        fill_id=f"{decision.signal_id}:f",
        order_id=f"{decision.signal_id}:o",
        run_id=decision.run_id,
        account_id=decision.account_id,
        ts=decision.ts + 1,
        instrument=decision.symbol,
        underlying=decision.symbol,
        asset_class="equity",
        side="buy",
        quantity=10,
        price=decision.price + 0.01,
        multiplier=1,
        commission=1.0,
        slippage=0.1,
        realised_pnl=round(0.5 * (number % 5) - 1.0, 2),
        reason="signal",
    )


def market(run: str, times: Sequence[datetime]) -> list[BaseModel]:
    rows: list[BaseModel] = []
    for index, moment in enumerate(times):
        for partition, symbol in enumerate(SYMBOLS):
            last = 230.0 + index * 0.25 if symbol == "AAPL" else 410.0 - index * 0.5
            rows.append(
                MarketTick(
                    row_id=(partition << 40) | index,
                    run_id=run,
                    account_id="market",
                    ts=ms(moment),
                    symbol=symbol,
                    bid=last - 0.01,
                    ask=last + 0.01,
                    last=last,
                    volume=1000 + index,
                    source_partition=partition,
                    source_offset=index,
                )
            )
            if index % 4:
                continue  # the chain is sampled less often than the ticks
            for expiry in (date(2026, 12, 18), date(2027, 1, 15)):
                for strike_offset in (-10, 0, 10):
                    for right in ("call", "put"):
                        strike = round(last) + strike_offset
                        moneyness = (last - strike) / last
                        call_delta = min(max(0.5 + 4 * moneyness, 0.05), 0.95)
                        delta = call_delta if right == "call" else call_delta - 1
                        code = "C" if right == "call" else "P"
                        rows.append(
                            OptionGreeks(
                                row_id=(partition << 40) | (index << 8) | len(rows) % 256,
                                run_id=run,
                                account_id="market",
                                ts=ms(moment),
                                underlying=symbol,
                                contract=f"{symbol}{expiry:%y%m%d}{code}{strike * 1000:08d}",
                                expiry=expiry,
                                strike=float(strike),
                                right=right,
                                spot=last,
                                iv=0.22 + 0.01 * abs(strike_offset) / 10,
                                price=5.0,
                                bid=4.9,
                                ask=5.1,
                                delta=delta,
                                gamma=0.02,
                                vega=35.0,
                                theta=-12.0,
                                rho=8.0,
                                days_to_expiry=float((expiry - moment.date()).days),
                            )
                        )
    return rows


@cache
def live_rows() -> tuple[BaseModel, ...]:
    times = session_times(SESSION_OPEN, len(DAYS))
    rows: list[BaseModel] = []
    strategies = {"alpha": "ma_cross", "beta": "rsi_reversion"}
    for account in LIVE_ACCOUNTS:
        rows += snapshots(LIVE, account, times)
        rows += daily(LIVE, account, DAYS, start=100_000.0)
        rows += signal_flow(LIVE, account, strategies[account], times)
        for version, status in enumerate(("running", "paused", "running"), start=1):
            final_status = "paused" if account == "beta" and version == 3 else status
            rows.append(
                TradingState(
                    run_id=LIVE,
                    account_id=account,
                    ts=ms(SESSION_OPEN + timedelta(hours=version)),
                    status=final_status,
                    reason=f"command {version}",
                    command_id=f"cmd-{account}-{version}",
                    config_version=1,
                    version=version,
                    equity=100_000.0 + version,
                    cash=50_000.0,
                    open_positions=3,
                )
            )
        rows.append(
            Alert(
                alert_id=f"{LIVE}:{account}:drawdown",
                run_id=LIVE,
                account_id=account,
                ts=ms(SESSION_OPEN + timedelta(hours=1)),
                severity="warning",
                kind="max_drawdown",
                message="drawdown above 80% of the limit",
                value=0.041,
                threshold=0.05,
            )
        )
    rows += market(LIVE, times)
    rows += [
        AlgorithmConfig(account_id="alpha", symbols=list(SYMBOLS), strategy=MovingAverageCross()),
        AlgorithmConfig(account_id="beta", symbols=list(SYMBOLS), strategy=RsiReversion()),
    ]
    return tuple(rows)


@cache
def backtest_rows() -> tuple[BaseModel, ...]:
    times = session_times(BACKTEST_OPEN, 2)
    days = (BACKTEST_OPEN.date(), BACKTEST_OPEN.date() + timedelta(days=1))
    rows: list[BaseModel] = []
    for run, accounts in BACKTEST_ACCOUNTS.items():
        configs = [
            AlgorithmConfig(
                account_id=account,
                symbols=list(SYMBOLS),
                strategy=MovingAverageCross(fast=5 + 5 * number, slow=30),
            )
            for number, account in enumerate(accounts)
        ]
        dumped = [config.model_dump(mode="json") for config in configs]
        # One run records its configs as a list, the other keyed by account: both are read.
        configs_json = json.dumps(
            dumped if run == SWEEP_RUN else {c["account_id"]: c for c in dumped}
        )
        for account in accounts:
            rows += snapshots(run, account, times)
            rows += daily(run, account, days, start=50_000.0)
            rows += signal_flow(run, account, "ma_cross", times)
        common: dict[str, Any] = {
            "run_id": run,
            "source": "file:///data/ticks-2026-10.jsonl",
            "from_ts": ms(times[0]),
            "to_ts": ms(times[-1]),
            "accounts": list(accounts),
            "configs_json": configs_json,
            "created_ts": ms(datetime(2026, 11, 1, tzinfo=UTC)) + len(run),
        }
        rows.append(
            BacktestRun(
                status="running", progress=0.5, ticks=1000, updated_ts=ms(times[0]), **common
            )
        )
        rows.append(
            BacktestRun(
                status="completed",
                progress=1.0,
                ticks=2000,
                metrics={"sharpe": 1.4, "total_return": 0.021, "max_drawdown": 0.013},
                updated_ts=ms(times[-1]),
                **common,
            )
        )
    return tuple(rows)


def insert(ch: Client, records: Iterable[BaseModel]) -> None:
    by_model: dict[type[BaseModel], list[BaseModel]] = defaultdict(list)
    for record in records:
        by_model[type(record)].append(record)
    for model, group in by_model.items():
        ch.insert(
            table_of(model),
            to_columns(group),
            column_names=list(column_names(model)),
            column_oriented=True,
        )
