"""Settings, read once from the environment (prefix STRIKEFLOW_) and passed down as arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Topics(BaseSettings):
    """Kafka topic names (STRIKEFLOW_TOPIC_<NAME>)."""

    model_config = SettingsConfigDict(env_prefix="STRIKEFLOW_TOPIC_", extra="ignore")
    ticks: str = "market.ticks"
    options: str = "market.options"
    control: str = "strikeflow.control"
    signals: str = "strikeflow.signals"
    decisions: str = "strikeflow.decisions"
    fills: str = "strikeflow.fills"
    alerts: str = "strikeflow.alerts"
    deadletter: str = "strikeflow.deadletter"

    def partitions(self, ticks_partitions: int) -> dict[str, int]:
        """Partition count per topic. Input partitions should be a multiple of the workers."""
        return {
            self.ticks: ticks_partitions,
            self.options: ticks_partitions,
            self.control: 1,
            self.signals: ticks_partitions,
            self.decisions: ticks_partitions,
            self.fills: ticks_partitions,
            self.alerts: 1,
            self.deadletter: 1,
        }


class Settings(BaseSettings):
    """Everything that differs between a laptop, CI and a docker-compose deployment."""

    model_config = SettingsConfigDict(env_prefix="STRIKEFLOW_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".strikeflow"),
        description="Where the embedded ClickHouse, recovery snapshots and reports live.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        description="host:port[,host:port]; unset starts the bundled broker on a free port.",
    )
    ticks_partitions: Annotated[
        int,
        Field(ge=1, le=1024, description="Partitions of new input topics: a multiple of workers."),
    ] = 4
    clickhouse_dsn: str | None = Field(
        default=None,
        description="chdb:///path (embedded) or http(s)://user:pass@host:8123; "
        "unset means chdb:///<data_dir>/clickhouse.",
    )
    clickhouse_database: str = Field(
        default="strikeflow",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="The database every table lives in (created by `strikeflow db migrate`).",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for mutating API calls; unset, `strikeflow serve` makes one.",
    )
    api_host: str = Field(default="127.0.0.1", description="Where `strikeflow serve` listens.")
    api_port: Annotated[int, Field(ge=0, le=65535, description="The API's port.")] = 8000
    grafana_url: str | None = Field(
        default=None, description="Grafana for `strikeflow dashboards publish`."
    )
    grafana_token: SecretStr | None = Field(
        default=None, description="A Grafana service-account token for publishing."
    )
    exchange_timezone: str = Field(
        default="America/New_York", description="Trading days and daily performance follow it."
    )
    snapshot_interval_seconds: Annotated[
        int, Field(ge=1, description="Event-time seconds between position snapshots.")
    ] = 60
    greeks_interval_seconds: Annotated[
        int, Field(ge=1, description="Event-time seconds between option-chain Greek samples.")
    ] = 60
    greeks_price_move: Annotated[
        float, Field(gt=0, lt=1, description="A price move (fraction) that samples Greeks early.")
    ] = 0.005
    option_quotes: bool = Field(
        default=False,
        description="Read market.options and trade, mark and risk-check options at its quotes "
        "instead of the synthetic chain (the feed must then send heartbeats there too).",
    )
    option_quote_max_age_seconds: Annotated[
        int, Field(ge=1, description="An older option quote is not used to open a position.")
    ] = 900
    account_shards: Annotated[
        int, Field(ge=1, le=256, description="Account stages the accounts are spread over.")
    ] = 2
    batch_size: Annotated[
        int, Field(ge=1, le=1_000_000, description="Most messages or file rows per input batch.")
    ] = 5000
    poll_ms: Annotated[
        float,
        Field(
            ge=0,
            le=1000,
            description="How long a partition's read waits to fill a batch: a slow feed's "
            "ticks travel in batches of this span (latency) instead of one by one (overhead).",
        ),
    ] = 2.0
    sink_max_batches: Annotated[
        int, Field(ge=1, description="Row batches gathered per table before a write.")
    ] = 64
    sink_max_seconds: Annotated[
        float, Field(gt=0, description="Longest a row waits before it is written.")
    ] = 1.0
    topics: Topics = Field(default_factory=Topics)

    @field_validator("clickhouse_dsn")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("chdb:", "http://", "https://")):
            raise ValueError("clickhouse_dsn must start with chdb:, http:// or https://")
        return value

    @property
    def dsn(self) -> str:
        if self.clickhouse_dsn:
            return self.clickhouse_dsn
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def embedded_clickhouse(self) -> bool:
        return self.dsn.startswith("chdb:")
