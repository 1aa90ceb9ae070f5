"""Each table-backed model agrees with its ClickHouse table, and replayed writes replace."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from pydantic import BaseModel

from schemas.common import Right, RunStatus, Severity, TradingStatus
from schemas.config import (
    AlgorithmConfig,
    BacktestRun,
    ResearchRequest,
    RsiReversion,
    WalkForwardRequest,
)
from schemas.market import MarketTick, OptionGreeks
from schemas.tables import (
    SERVER_DEFAULT_COLUMNS,
    TABLE_MODELS,
    Rows,
    column_names,
    columns,
    from_row,
    table_of,
    to_columns,
)
from schemas.trading import (
    Alert,
    DailyPerformance,
    Decision,
    Fill,
    OrderEvent,
    PositionSnapshot,
    Signal,
    TradingState,
)
from sinks.clickhouse.writer import Writer

pytestmark = pytest.mark.integration

TS = 1_764_081_000_123

SAMPLES: dict[type[BaseModel], list[BaseModel]] = {
    AlgorithmConfig: [
        AlgorithmConfig(account_id="acct-1", symbols=["AAPL", "MSFT"], created_ts=TS),
        AlgorithmConfig(
            account_id="acct-1",
            version=2,
            name="rsi",
            symbols=["AAPL"],
            strategy=RsiReversion(period=7),
            starting_cash=50_000,
            created_ts=TS + 1,
        ),
    ],
    Signal: [
        Signal(
            signal_id="live:acct-1:sig:0:7",
            run_id="live",
            account_id="acct-1",
            ts=TS,
            symbol="AAPL",
            strategy="ma_cross(10,30)",
            direction="long",  # type: ignore[arg-type]
            strength=0.75,
            price=189.1234,
            reason="fast SMA(10) crossed above slow SMA(30)",
            indicators={"fast": 189.2, "slow": 188.9},
            config_version=1,
        )
    ],
    Decision: [
        Decision(
            decision_id="live:acct-1:dec:0:7",
            signal_id="live:acct-1:sig:0:7",
            run_id="live",
            account_id="acct-1",
            ts=TS,
            symbol="AAPL",
            instrument="AAPL251219C00190000",
            side="buy",  # type: ignore[arg-type]
            quantity=3,
            price=4.15,
            approved=False,
            rule="max_order_notional",
            observed=1245.0,
            limit=1000.0,
            reason="order notional 1,245.00 exceeds max_order_notional 1,000.00",
            config_version=1,
        )
    ],
    PositionSnapshot: [
        PositionSnapshot(
            row_id="live:acct-1:snap:1764081000000:AAPL",
            run_id="live",
            account_id="acct-1",
            ts=TS,
            instrument="AAPL",
            underlying="AAPL",
            quantity=-100,
            avg_price=190.01,
            mark_price=189.5,
            market_value=-18950.0,
            unrealised_pnl=51.0,
            realised_pnl=0.0,
            delta=-100.0,
            gamma=0.0,
            vega=0.0,
            theta=0.0,
            cash=118_951.0,
            equity=100_001.0,
            scenario_loss=1_895.0,  # short 100 at 189.50, spot +10 %
        ),
        PositionSnapshot(
            row_id="live:acct-1:snap:1764081000000:",
            run_id="live",
            account_id="acct-1",
            ts=TS,
            instrument="",
            underlying="",
            quantity=0,
            avg_price=0.0,
            mark_price=0.0,
            market_value=-18950.0,
            unrealised_pnl=51.0,
            realised_pnl=0.0,
            delta=-100.0,
            gamma=0.0,
            vega=0.0,
            theta=0.0,
            cash=118_951.0,
            equity=100_001.0,
            scenario_loss=1_895.0,
        ),
    ],
    DailyPerformance: [
        DailyPerformance(
            row_id="live:acct-1:2025-11-25",
            run_id="live",
            account_id="acct-1",
            day=date(2025, 11, 25),
            ts=TS,
            start_equity=100_000.0,
            end_equity=100_250.55,
            pnl=250.55,
            return_pct=0.0025055,
            realised_pnl=260.55,
            commissions=10.0,
            trades=4,
            winning_trades=3,
            losing_trades=1,
            win_rate=0.75,
            max_drawdown=0.0012,
            high_water_mark=100_400.0,
        )
    ],
    BacktestRun: [
        BacktestRun(
            run_id="bt-1",
            status=RunStatus.COMPLETED,
            progress=1.0,
            source="topic:market.ticks",
            from_ts=TS,
            to_ts=None,
            accounts=["sweep-0", "sweep-1"],
            configs_json="[]",
            ticks=1_000_000,
            metrics={"sharpe": 1.25, "max_drawdown": 0.05},
            research=ResearchRequest(
                walk_forward=WalkForwardRequest(train="90d", test="30d", objective="psr"),
                monte_carlo=500,
                seed=7,
            ),
            created_ts=TS,
            updated_ts=TS + 5,
        ),
        BacktestRun(
            run_id="bt-2",
            status=RunStatus.PENDING,
            progress=0.0,
            source="file:bars.csv",
            accounts=["a"],
            configs_json="[]",
            created_ts=TS,
            updated_ts=TS,
        ),
    ],
    Alert: [
        Alert(
            alert_id="live:acct-1:alert:1",
            run_id="live",
            account_id="acct-1",
            ts=TS,
            severity=Severity.CRITICAL,
            kind="max_drawdown",
            message="drawdown 5.2% breached max_drawdown 5.0%; trading halted",
            value=0.052,
            threshold=0.05,
        )
    ],
    TradingState: [
        TradingState(
            run_id="live",
            account_id="acct-1",
            ts=TS,
            status=TradingStatus.HALTED,
            reason="kill switch",
            command_id="cmd-9",
            config_version=2,
            version=7,
            equity=99_000.0,
            cash=99_000.0,
            open_positions=0,
        )
    ],
    MarketTick: [
        MarketTick(
            row_id=(3 << 40) | 12345,
            run_id="live",
            account_id="market",
            ts=TS,
            symbol="MSFT",
            bid=410.1,
            ask=410.12,
            last=410.11,
            volume=200,
            source_partition=3,
            source_offset=12345,
        ),
        MarketTick(
            row_id=(3 << 40) | 12346,
            run_id="live",
            account_id="market",
            ts=TS,
            symbol="MSFT",
            bid=410.1,
            ask=410.1,
            last=410.1,
            volume=0,
            bid_size=0,
            ask_size=300,
            source_partition=3,
            source_offset=12346,
        ),
    ],
    OptionGreeks: [
        OptionGreeks(
            row_id=42,
            run_id="live",
            account_id="market",
            ts=TS,
            underlying="AAPL",
            contract="AAPL251219P00180000",
            expiry=date(2025, 12, 19),
            strike=180.0,
            right=Right.PUT,
            spot=189.5,
            iv=0.31,
            price=2.1,
            bid=2.05,
            ask=2.15,
            delta=-0.22,
            gamma=0.02,
            vega=18.5,
            theta=-25.1,
            rho=-3.9,
            days_to_expiry=24.06,
        ),
        OptionGreeks(
            row_id=43,
            run_id="live",
            account_id="market",
            ts=TS,
            underlying="AAPL",
            contract="AAPL251219C00180000",
            expiry=date(2025, 12, 19),
            strike=180.0,
            right=Right.CALL,
            spot=189.5,
            iv=0.3,
            price=11.4,
            bid=11.3,
            ask=11.5,
            bid_size=0,
            ask_size=12,
            delta=0.78,
            gamma=0.02,
            vega=18.1,
            theta=-27.0,
            rho=11.2,
            days_to_expiry=24.06,
        ),
    ],
    Fill: [
        Fill(
            fill_id="live:acct-1:fill:0:7",
            order_id="live:acct-1:ord:0:7",
            run_id="live",
            account_id="acct-1",
            ts=TS,
            instrument="AAPL",
            underlying="AAPL",
            asset_class="equity",  # type: ignore[arg-type]
            side="sell",  # type: ignore[arg-type]
            quantity=100,
            price=190.0119,
            multiplier=1,
            commission=1.0,
            slippage=0.019,
            realised_pnl=-1.0,
            reason="signal",
            exit_reason="stop_loss",  # type: ignore[arg-type]
        )
    ],
    OrderEvent: [
        OrderEvent(
            event_id="live:acct-1:ord:0:7:1",
            order_id="live:acct-1:ord:0:7",
            sequence=1,
            parent_id="live:acct-1:ord:0:6",
            oco_group="live:acct-1:oco:0:6",
            run_id="live",
            account_id="acct-1",
            ts=TS,
            placed_ts=TS,
            instrument="AAPL",
            underlying="AAPL",
            asset_class="equity",  # type: ignore[arg-type]
            side="sell",  # type: ignore[arg-type]
            order_type="stop_limit",  # type: ignore[arg-type]
            time_in_force="gtc",  # type: ignore[arg-type]
            purpose="stop_loss",
            quantity=100,
            filled_quantity=40,
            avg_fill_price=180.5,
            limit_price=180.0,
            stop_price=181.0,
            status="partially_filled",  # type: ignore[arg-type]
        ),
        OrderEvent(
            event_id="live:acct-1:ord:0:8:0",
            order_id="live:acct-1:ord:0:8",
            sequence=0,
            run_id="live",
            account_id="acct-1",
            ts=TS,
            placed_ts=TS,
            instrument="AAPL",
            underlying="AAPL",
            asset_class="equity",  # type: ignore[arg-type]
            side="sell",  # type: ignore[arg-type]
            order_type="trailing_stop",  # type: ignore[arg-type]
            time_in_force="day",  # type: ignore[arg-type]
            purpose="trailing_stop",
            quantity=100,
            filled_quantity=0,
            trail_percent=0.02,
            status="cancelled",  # type: ignore[arg-type]
            reason="cancelled by operator: too wide",
            command_id="cancel-7",
        ),
    ],
}


@pytest.fixture
def ch(module_ch: Client) -> Client:
    """The module's database with every table emptied."""
    for model in TABLE_MODELS:
        module_ch.command(f"TRUNCATE TABLE {table_of(model)}")
    return module_ch


def _table_columns(ch: Client, table: str) -> list[tuple[str, str]]:
    rows = ch.query(f"DESCRIBE TABLE {table}").result_rows
    return [(str(name), str(kind)) for name, kind, *_ in rows if name not in SERVER_DEFAULT_COLUMNS]


def _insert(ch: Client, records: list[BaseModel]) -> None:
    model = type(records[0])
    ch.insert(
        table_of(model),
        to_columns(records),
        column_names=list(column_names(model)),
        column_oriented=True,
    )


def _select(ch: Client, model: type[BaseModel], final: bool) -> list[BaseModel]:
    names = ", ".join(f"`{name}`" for name in column_names(model))
    result = ch.query(f"SELECT {names} FROM {table_of(model)}{' FINAL' if final else ''}")
    return [
        from_row(model, dict(zip(column_names(model), row, strict=True)))
        for row in result.result_rows
    ]


def test_every_sample_model_has_a_table() -> None:
    assert set(SAMPLES) == set(TABLE_MODELS)


@pytest.mark.parametrize("model", TABLE_MODELS, ids=lambda m: table_of(m))
def test_model_fields_and_table_columns_agree(ch: Client, model: type[BaseModel]) -> None:
    assert _table_columns(ch, table_of(model)) == list(columns(model))


@pytest.mark.parametrize("model", TABLE_MODELS, ids=lambda m: table_of(m))
def test_round_trip_insert_select_returns_equal_models(ch: Client, model: type[BaseModel]) -> None:
    records = SAMPLES[model]
    _insert(ch, records)
    selected = _select(ch, model, final=False)
    key: Any = lambda record: record.model_dump_json()  # noqa: E731
    assert sorted(selected, key=key) == sorted(records, key=key)


@pytest.mark.parametrize("model", TABLE_MODELS, ids=lambda m: table_of(m))
def test_the_flow_sink_writes_rows_that_read_back_equal(ch: Client, model: type[BaseModel]) -> None:
    records = SAMPLES[model]
    writer = Writer(lambda: ch)
    assert writer.write(
        [Rows.of(records[:1]), Rows.of(records[1:])] if len(records) > 1 else [Rows.of(records)]
    ) == len(records)
    key: Any = lambda record: record.model_dump_json()  # noqa: E731
    assert sorted(_select(ch, model, final=False), key=key) == sorted(records, key=key)


@pytest.mark.parametrize("model", TABLE_MODELS, ids=lambda m: table_of(m))
def test_replayed_insert_leaves_one_row_each_with_final(ch: Client, model: type[BaseModel]) -> None:
    records = SAMPLES[model]
    for _ in range(3):
        _insert(ch, records)
    table = table_of(model)
    assert ch.query(f"SELECT count() FROM {table}").result_rows[0][0] == 3 * len(records)
    assert len(_select(ch, model, final=True)) == len(records)
    ch.command(f"OPTIMIZE TABLE {table} FINAL")
    assert ch.query(f"SELECT count() FROM {table}").result_rows[0][0] == len(records)
