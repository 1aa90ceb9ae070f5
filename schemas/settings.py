"""Settings, read once from the environment (prefix STRIKEFLOW_) and passed down as arguments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_ORIGIN = re.compile(
    r"^https?://[a-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$"
)


class Topics(BaseSettings):
    """Kafka topic names (STRIKEFLOW_TOPIC_<NAME>)."""

    model_config = SettingsConfigDict(env_prefix="STRIKEFLOW_TOPIC_", extra="ignore")
    ticks: str = "market.ticks"
    options: str = "market.options"
    control: str = "strikeflow.control"
    signals: str = "strikeflow.signals"
    decisions: str = "strikeflow.decisions"
    fills: str = "strikeflow.fills"
    orders: str = "strikeflow.orders"
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
            self.orders: ticks_partitions,
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
        description="Full-access API token (reads, commands, configs, backtests); unset, "
        "`strikeflow serve` makes one.",
    )
    api_read_token: SecretStr | None = Field(
        default=None, description="Optional read-only API token: reads and the WebSocket only."
    )
    api_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=LOOPBACK_HOSTS,
        description="Host names the API answers (comma-separated; `*` = any); others get 400.",
    )
    api_allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Web origins (scheme://host[:port], comma-separated) besides the API's own "
        "that may use the session cookie and the WebSocket.",
    )
    api_session_hours: Annotated[
        float, Field(gt=0, le=24 * 90, description="How long a browser login lasts (hours).")
    ] = 12.0
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
    greeks_all_symbols: bool = Field(
        default=False,
        description="Sample the synthetic chain's Greeks of every symbol, not only of those an "
        "account trades as options (for dashboards watching chains nobody trades).",
    )
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
    on_history_loss: Literal["stop", "reset"] = Field(
        default="stop",
        description="When the broker's history went backwards (restarted empty): stop the live "
        "flow (exit status 3) or read the new history from its start.",
    )
    broker_down_alert_seconds: Annotated[
        float, Field(gt=0, description="Seconds without the broker before an ALERT line.")
    ] = 60.0
    broker_log_interval_seconds: Annotated[
        float, Field(gt=0, description="A repeated Kafka client log line is said once per this.")
    ] = 30.0
    clickhouse_max_partitions_per_insert: Annotated[
        int,
        Field(
            ge=0,
            description="The server's max_partitions_per_insert_block: the sink splits every "
            "insert so no block spans more partitions (0: never split). Match it if the server's "
            "setting is changed.",
        ),
    ] = 100
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

    @field_validator("api_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        hosts = _comma_list(value)
        if isinstance(hosts, tuple):
            # a Host header's name compares without brackets (IPv6), case or a final dot
            hosts = tuple(host.lower().strip("[]").rstrip(".") for host in hosts)
            if not hosts:
                raise ValueError("name at least one host, or * for any")
        return hosts

    @field_validator("api_allowed_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: Any) -> Any:
        origins = _comma_list(value)
        if isinstance(origins, tuple):
            origins = tuple(origin.lower().rstrip("/") for origin in origins)
            for origin in origins:
                if not _ORIGIN.match(origin):
                    raise ValueError(
                        f"{origin!r} is not an origin: scheme://host[:port], no path and no * "
                        "(any page could then act with the operator's login)"
                    )
        return origins

    @model_validator(mode="after")
    def _distinct_tokens(self) -> Self:
        full, read = self.api_token, self.api_read_token
        if full is not None and read is not None and full == read:
            raise ValueError("api_read_token must differ from api_token")
        return self

    @property
    def dsn(self) -> str:
        if self.clickhouse_dsn:
            return self.clickhouse_dsn
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def embedded_clickhouse(self) -> bool:
        return self.dsn.startswith("chdb:")


def _comma_list(value: Any) -> Any:
    """A comma-separated setting (as the environment gives it) as a tuple of its items."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list | tuple):
        return tuple(str(item).strip() for item in value if str(item).strip())
    return value
