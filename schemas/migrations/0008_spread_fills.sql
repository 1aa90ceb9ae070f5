-- The legs of a multi-leg option order (a spread) fill as one: their fills share a spread_id
-- ('' for a single-leg order, which is every fill written before this column existed).
ALTER TABLE paper_fills ADD COLUMN IF NOT EXISTS spread_id String DEFAULT '' AFTER exit_reason;
