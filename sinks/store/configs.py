"""Algorithm configs in `algorithm_configs`: every version of an account's config is a row."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.config import AlgorithmConfig
from sinks.store.rows import select


def latest_configs(client: Client, include_disabled: bool = False) -> list[AlgorithmConfig]:
    """The newest version of every account's algorithm config, by account id."""
    configs = select(client, AlgorithmConfig)
    newest: dict[str, AlgorithmConfig] = {}
    for config in configs:
        known = newest.get(config.account_id)
        if known is None or config.version > known.version:
            newest[config.account_id] = config
    return [
        newest[account] for account in sorted(newest) if include_disabled or newest[account].enabled
    ]


def config_versions(client: Client, account_id: str) -> list[AlgorithmConfig]:
    """Every version of an account's config, oldest first (empty: the account has none)."""
    rows = select(client, AlgorithmConfig, "account_id = {account:String}", {"account": account_id})
    return sorted(rows, key=lambda c: c.version)
