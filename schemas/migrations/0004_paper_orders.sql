-- Orders become first-class rows: every change of an order's status is one row of paper_orders
-- (new, partially_filled, filled, cancelled, expired, rejected, replaced), so an order's history
-- is its rows in (ts, sequence) order and its state the latest one. Partitioned by year like the
-- other fact tables (see 0003); the sorting key starts like theirs, with order_id then sequence
-- so one order's history reads in order.
-- Fills say why they closed a position (exit_reason: signal, stop_loss, take_profit, ...; '' for
-- fills that only open).

CREATE TABLE IF NOT EXISTS paper_orders
(
    event_id String,
    order_id String,
    sequence UInt32,
    decision_id String,
    parent_id String,
    oco_group String,
    run_id LowCardinality(String),
    account_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    placed_ts DateTime64(3, 'UTC'),
    instrument LowCardinality(String),
    underlying LowCardinality(String),
    asset_class LowCardinality(String),
    side LowCardinality(String),
    order_type LowCardinality(String),
    time_in_force LowCardinality(String),
    purpose LowCardinality(String),
    quantity Int64,
    filled_quantity Int64,
    avg_fill_price Float64,
    limit_price Nullable(Float64),
    stop_price Nullable(Float64),
    trail_amount Nullable(Float64),
    trail_percent Nullable(Float64),
    status LowCardinality(String),
    reason String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYear(ts)
ORDER BY (run_id, account_id, ts, order_id, sequence, event_id);

ALTER TABLE paper_fills ADD COLUMN IF NOT EXISTS exit_reason LowCardinality(String) DEFAULT '' AFTER reason;
