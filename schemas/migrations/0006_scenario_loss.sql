-- Position snapshots carry the worst loss over the max_scenario_loss shock grid (currency,
-- positive a loss): the book's on the account row, each position's own on its row, 0 when the
-- rule is off and on every row written before this column existed.

ALTER TABLE position_snapshots ADD COLUMN IF NOT EXISTS scenario_loss Float64 DEFAULT 0 AFTER equity;
