-- An order row names the control command that wrote it (a cancel_order, a replace_order, or a
-- stop, pause or kill switch that cancelled the order; '' for the flow's own rows and for every
-- row written before this column existed), so GET /commands/{id} reads what became of a
-- cancel or a replace by an exact match. The bloom filter skips the granules without it: almost
-- every row is the flow's own.
ALTER TABLE paper_orders ADD COLUMN IF NOT EXISTS command_id String DEFAULT '' AFTER reason;
ALTER TABLE paper_orders ADD INDEX IF NOT EXISTS by_command command_id TYPE bloom_filter GRANULARITY 1
