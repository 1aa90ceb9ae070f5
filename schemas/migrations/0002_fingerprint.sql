-- A run's fingerprint (sinks/store/fingerprint.py): SHA-256 over its output rows, '' until the
-- run completes.
ALTER TABLE backtest_runs ADD COLUMN IF NOT EXISTS fingerprint String DEFAULT '' AFTER report_path;
