-- Partition every time-partitioned table by year instead of by month.

-- Why: ClickHouse refuses an INSERT whose rows fall into more than
-- max_partitions_per_insert_block partitions (100 by default), and by month that is any batch
-- spanning 8 years and 4 months: a backtest of years of daily bars failed on its first write.
-- By year, live trading writes into one partition (two at New Year) and 30 years of history into
-- 30; the sink also splits any insert so that no block spans more than the limit
-- (sinks/clickhouse/writer.py), which keeps a century of bars working. Coarse partitions are
-- what ClickHouse recommends anyway: partitions are for dropping old data, not for filtering
-- (the sorting keys start with run_id, account_id, ts, which is what every query filters on).

-- Each table is rebuilt: ClickHouse cannot change a table's partition key in place. The copy
-- goes to <table>_by_year, is swapped in atomically (EXCHANGE TABLES needs the Atomic database
-- engine, the default since ClickHouse 20.10 and chdb's), and the old copy is dropped. Every
-- step can be run again after an interruption: the leftover copy is dropped first.

DROP TABLE IF EXISTS auto_signals_by_year;
CREATE TABLE auto_signals_by_year AS auto_signals
    ENGINE = ReplacingMergeTree
    PARTITION BY toYear(ts)
    ORDER BY (run_id, account_id, ts, signal_id);
INSERT INTO auto_signals_by_year SELECT * FROM auto_signals SETTINGS max_partitions_per_insert_block = 0;
EXCHANGE TABLES auto_signals AND auto_signals_by_year;
DROP TABLE auto_signals_by_year;

DROP TABLE IF EXISTS auto_decisions_by_year;
CREATE TABLE auto_decisions_by_year AS auto_decisions
    ENGINE = ReplacingMergeTree
    PARTITION BY toYear(ts)
    ORDER BY (run_id, account_id, ts, decision_id);
INSERT INTO auto_decisions_by_year SELECT * FROM auto_decisions SETTINGS max_partitions_per_insert_block = 0;
EXCHANGE TABLES auto_decisions AND auto_decisions_by_year;
DROP TABLE auto_decisions_by_year;

DROP TABLE IF EXISTS paper_fills_by_year;
CREATE TABLE paper_fills_by_year AS paper_fills
    ENGINE = ReplacingMergeTree
    PARTITION BY toYear(ts)
    ORDER BY (run_id, account_id, ts, fill_id);
INSERT INTO paper_fills_by_year SELECT * FROM paper_fills SETTINGS max_partitions_per_insert_block = 0;
EXCHANGE TABLES paper_fills AND paper_fills_by_year;
DROP TABLE paper_fills_by_year;

DROP TABLE IF EXISTS position_snapshots_by_year;
CREATE TABLE position_snapshots_by_year AS position_snapshots
    ENGINE = ReplacingMergeTree
    PARTITION BY toYear(ts)
    ORDER BY (run_id, account_id, ts, row_id);
INSERT INTO position_snapshots_by_year SELECT * FROM position_snapshots SETTINGS max_partitions_per_insert_block = 0;
EXCHANGE TABLES position_snapshots AND position_snapshots_by_year;
DROP TABLE position_snapshots_by_year;

DROP TABLE IF EXISTS alerts_by_year;
CREATE TABLE alerts_by_year AS alerts
    ENGINE = ReplacingMergeTree
    PARTITION BY toYear(ts)
    ORDER BY (run_id, account_id, ts, alert_id);
INSERT INTO alerts_by_year SELECT * FROM alerts SETTINGS max_partitions_per_insert_block = 0;
EXCHANGE TABLES alerts AND alerts_by_year;
DROP TABLE alerts_by_year;

DROP TABLE IF EXISTS market_ticks_by_year;
CREATE TABLE market_ticks_by_year AS market_ticks
    ENGINE = ReplacingMergeTree
    PARTITION BY toYear(ts)
    ORDER BY (run_id, symbol, ts, row_id)
    TTL ingested_at + INTERVAL 30 DAY DELETE;
INSERT INTO market_ticks_by_year SELECT * FROM market_ticks SETTINGS max_partitions_per_insert_block = 0;
EXCHANGE TABLES market_ticks AND market_ticks_by_year;
DROP TABLE market_ticks_by_year;

DROP TABLE IF EXISTS option_greeks_by_year;
CREATE TABLE option_greeks_by_year AS option_greeks
    ENGINE = ReplacingMergeTree
    PARTITION BY toYear(ts)
    ORDER BY (run_id, underlying, ts, row_id)
    TTL ingested_at + INTERVAL 90 DAY DELETE;
INSERT INTO option_greeks_by_year SELECT * FROM option_greeks SETTINGS max_partitions_per_insert_block = 0;
EXCHANGE TABLES option_greeks AND option_greeks_by_year;
DROP TABLE option_greeks_by_year;
