"""A config's exits round-trip through `algorithm_configs` (migration 0005), and a row written
without them reads back with every exit off."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.config import AlgorithmConfig, Exits
from sinks.store.configs import config_versions
from sinks.store.rows import insert


def test_exits_round_trip_and_default_to_off(ch: Client) -> None:
    config = AlgorithmConfig(
        account_id="exits",
        symbols=["AAPL"],
        exits=Exits(stop_loss_pct=0.02, take_profit_pct=0.05, time_stop_seconds=600),
    )
    insert(ch, [config])
    assert config_versions(ch, "exits") == [config]
    ch.command(
        "INSERT INTO algorithm_configs (account_id, version, symbols, strategy, sizing, costs, "
        "selection, limits, starting_cash, created_ts) VALUES ('older', 1, ['AAPL'], "
        "'{\"kind\":\"ma_cross\"}', '{}', '{}', '{}', '{}', 1000.0, now64(3))"
    )
    [older] = config_versions(ch, "older")
    assert older.exits == Exits()
    assert not older.exits.any
