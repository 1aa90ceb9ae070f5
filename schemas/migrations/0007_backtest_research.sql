-- A backtest launched with research (POST /backtests with walk_forward or monte_carlo) records
-- what was asked, as the JSON of schemas.config.ResearchRequest, so the research runs when the
-- replay completes and GET /backtests/{run}/walk-forward can answer with the launch's plan.

ALTER TABLE backtest_runs ADD COLUMN IF NOT EXISTS research String DEFAULT '{"walk_forward":null,"monte_carlo":0,"seed":0}' AFTER fingerprint;
