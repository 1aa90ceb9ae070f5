"""The flow reading `market.options` (STRIKEFLOW_OPTION_QUOTES) against the real broker and the
real ClickHouse engine: options trade at the market's quotes, the quoted chains' Greeks are
written once, and the rows do not depend on the workers or on live versus replay."""

from __future__ import annotations

import pytest
from bytewax.run import cli_main
from clickhouse_connect.driver.client import Client

from flows.runs.backtest import Source, run_backtest
from flows.runs.live import live_spec
from flows.sim.feed import feed_writer
from flows.sim.simulator import SimParams, simulate_session
from flows.stages.graph import build_flow
from flows.trading.paper_broker import market_fill_price
from schemas.config import (
    AlgorithmConfig,
    BollingerBreakout,
    Costs,
    InstrumentSelection,
    Sizing,
)
from schemas.settings import Settings
from sinks.clickhouse.client import connect
from tests.flows.stages.test_flow_kafka import _without_run, other_database
from tests.flows_support import DAY, read_topic, table_rows
from tests.pipeline import SMALL_MARKET, quote_book

pytestmark = [pytest.mark.integration, pytest.mark.long(45)]

CONFIGS = [
    AlgorithmConfig(
        account_id="quoted-options",
        symbols=["AAPL", "MSFT"],
        strategy=BollingerBreakout(period=20, width=1.5, allow_short=True),
        selection=InstrumentSelection(kind="option", target_delta=0.4, days_to_expiry=7),
        sizing=Sizing(quantity=2),
    ),
]


@pytest.fixture
def quoted(settings: Settings) -> Settings:
    """The test's settings with option quotes on, and a session of ticks and quotes fed."""
    quoted = settings.model_copy(update={"option_quotes": True})
    assert quoted.kafka_bootstrap_servers is not None
    writer = feed_writer(quoted.kafka_bootstrap_servers, quoted, chains=SMALL_MARKET)
    ticks, _ = simulate_session(["AAPL", "MSFT"], DAY, SimParams(ticks_per_minute=5.0))
    writer.write_ticks(ticks)
    writer.finish()
    return quoted


def run_live(settings: Settings, workers: int = 1) -> None:
    assert settings.kafka_bootstrap_servers is not None
    spec = live_spec(settings, settings.kafka_bootstrap_servers, CONFIGS, bounded=True)
    cli_main(build_flow(spec), workers_per_process=workers)


def test_options_trade_at_the_fed_quotes_and_the_rows_do_not_depend_on_how_it_runs(
    quoted: Settings, ch: Client
) -> None:
    run_live(quoted)
    live = table_rows(ch, "live")

    assert {row[4] for row in live["market_ticks"]} == {"AAPL", "MSFT"}  # no contract rows
    greeks = live["option_greeks"]
    assert greeks
    # one sample per chain the feed sent, every 300 s of event time
    assert all(round(row[3].timestamp() * 1000) % 300_000 == 0 for row in greeks)

    assert quoted.kafka_bootstrap_servers is not None
    book = quote_book(
        value for _, value in read_topic(quoted.kafka_bootstrap_servers, quoted.topics.options)
    )
    fills = ch.query(
        "SELECT ts, instrument, side, price FROM paper_fills FINAL "
        "WHERE run_id = 'live' AND reason = 'signal' ORDER BY ts, instrument"
    ).result_rows
    assert len(fills) >= 4
    for ts, instrument, side, price in fills:
        millis = int(ts.timestamp() * 1000)
        quote_ts, bid, ask = [q for q in book[instrument] if q[0] <= millis][-1]
        assert millis - quote_ts <= quoted.option_quote_max_age_seconds * 1000
        assert price == pytest.approx(market_fill_price(side, bid, ask, Costs()))

    two = other_database(quoted, f"{quoted.clickhouse_database}_w2")
    run_live(two, workers=2)
    other = connect(two.dsn, two.clickhouse_database)
    try:
        assert table_rows(other, "live") == live
    finally:
        other.command(f"DROP DATABASE `{two.clickhouse_database}`")
        other.close()

    result = run_backtest(quoted, CONFIGS, Source(), bootstrap=quoted.kafka_bootstrap_servers)
    replay = table_rows(ch, result.run.run_id)
    assert _without_run(replay, result.run.run_id) == _without_run(live, "live")
