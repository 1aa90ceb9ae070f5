-- A quoted chain's sizes (contracts at the bid and at the ask of each market.options quote).
-- Nullable as market_ticks' (0010): 0 is a quoted size, and NULL says the quote had none, as
-- for the model's synthetic chain and every row written before these columns existed.
ALTER TABLE option_greeks ADD COLUMN IF NOT EXISTS bid_size Nullable(UInt64) AFTER ask;
ALTER TABLE option_greeks ADD COLUMN IF NOT EXISTS ask_size Nullable(UInt64) AFTER bid_size
