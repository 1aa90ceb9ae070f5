-- strikeflow's tables. Every fact row carries run_id and account_id and a deterministic id that is
-- part of the sorting key, so a replayed write (Bytewax recovery is at-least-once) is collapsed
-- by ReplacingMergeTree; read with FINAL (or GROUP BY the id) where duplicates must not show.
-- Sorting keys start with (run_id, account_id, ts): the dashboards and the API filter on them.

CREATE TABLE IF NOT EXISTS algorithm_configs
(
    account_id LowCardinality(String),
    version UInt32,
    name String,
    enabled Bool,
    symbols Array(LowCardinality(String)),
    strategy String,
    sizing String,
    costs String,
    selection String,
    limits String,
    starting_cash Float64,
    created_ts DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (account_id, version);

CREATE TABLE IF NOT EXISTS auto_signals
(
    signal_id String,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    symbol LowCardinality(String),
    strategy LowCardinality(String),
    direction LowCardinality(String),
    strength Float64,
    price Float64,
    reason String,
    indicators Map(String, Float64),
    config_version UInt32
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (run_id, account_id, ts, signal_id);

CREATE TABLE IF NOT EXISTS auto_decisions
(
    decision_id String,
    signal_id String,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    symbol LowCardinality(String),
    instrument LowCardinality(String),
    side LowCardinality(String),
    quantity Int64,
    price Float64,
    approved Bool,
    rule LowCardinality(String),
    observed Float64,
    `limit` Float64,
    reason String,
    config_version UInt32
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (run_id, account_id, ts, decision_id);

CREATE TABLE IF NOT EXISTS paper_fills
(
    fill_id String,
    order_id String,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    instrument LowCardinality(String),
    underlying LowCardinality(String),
    asset_class LowCardinality(String),
    side LowCardinality(String),
    quantity Int64,
    price Float64,
    multiplier UInt32,
    commission Float64,
    slippage Float64,
    realised_pnl Float64,
    reason LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (run_id, account_id, ts, fill_id);

CREATE TABLE IF NOT EXISTS position_snapshots
(
    row_id String,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    instrument LowCardinality(String),
    underlying LowCardinality(String),
    quantity Int64,
    avg_price Float64,
    mark_price Float64,
    market_value Float64,
    unrealised_pnl Float64,
    realised_pnl Float64,
    delta Float64,
    gamma Float64,
    vega Float64,
    theta Float64,
    cash Float64,
    equity Float64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (run_id, account_id, ts, row_id);

CREATE TABLE IF NOT EXISTS daily_performance
(
    row_id String,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    day Date,
    ts DateTime64(3, 'UTC'),
    start_equity Float64,
    end_equity Float64,
    pnl Float64,
    return_pct Float64,
    realised_pnl Float64,
    commissions Float64,
    trades UInt32,
    winning_trades UInt32,
    losing_trades UInt32,
    win_rate Float64,
    max_drawdown Float64,
    high_water_mark Float64
)
ENGINE = ReplacingMergeTree(ts)
ORDER BY (run_id, account_id, day, row_id);

CREATE TABLE IF NOT EXISTS backtest_runs
(
    run_id LowCardinality(String),
    status LowCardinality(String),
    progress Float64,
    source String,
    from_ts Nullable(DateTime64(3, 'UTC')),
    to_ts Nullable(DateTime64(3, 'UTC')),
    accounts Array(LowCardinality(String)),
    configs_json String,
    ticks UInt64,
    metrics Map(String, Float64),
    error String,
    report_path String,
    created_ts DateTime64(3, 'UTC'),
    updated_ts DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_ts)
ORDER BY run_id;

CREATE TABLE IF NOT EXISTS alerts
(
    alert_id String,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    severity LowCardinality(String),
    kind LowCardinality(String),
    message String,
    value Float64,
    threshold Float64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (run_id, account_id, ts, alert_id);

-- The current state per account: the row with the highest version wins.
CREATE TABLE IF NOT EXISTS auto_trade_state
(
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    status LowCardinality(String),
    reason String,
    command_id String,
    config_version UInt32,
    version UInt64,
    equity Float64,
    cash Float64,
    open_positions UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (run_id, account_id);

-- Raw ticks expire 30 days after they were written (not after their event time, which may be
-- years old in a backtest).
CREATE TABLE IF NOT EXISTS market_ticks
(
    row_id UInt64,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    symbol LowCardinality(String),
    bid Float64,
    ask Float64,
    last Float64,
    volume UInt64,
    source_partition UInt32,
    source_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (run_id, symbol, ts, row_id)
TTL ingested_at + INTERVAL 30 DAY DELETE;

CREATE TABLE IF NOT EXISTS option_greeks
(
    row_id UInt64,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    underlying LowCardinality(String),
    contract LowCardinality(String),
    expiry Date,
    strike Float64,
    right LowCardinality(String),
    spot Float64,
    iv Float64,
    price Float64,
    bid Float64,
    ask Float64,
    delta Float64,
    gamma Float64,
    vega Float64,
    theta Float64,
    rho Float64,
    days_to_expiry Float64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (run_id, underlying, ts, row_id)
TTL ingested_at + INTERVAL 90 DAY DELETE;
