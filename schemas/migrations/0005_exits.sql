-- Algorithm configs carry their exits (stop-loss, take-profit, trailing and time stops) as JSON
-- text like the other nested models; '{}' reads back as every exit switched off, so configs
-- stored before this column existed trade as they did.
ALTER TABLE algorithm_configs ADD COLUMN IF NOT EXISTS exits String DEFAULT '{}' AFTER limits;
