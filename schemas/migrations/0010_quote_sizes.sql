-- A tick's quoted sizes (units at the bid and at the ask). Nullable rather than a sentinel:
-- a quoted size of 0 (nothing offered at that price) is data, and NULL says the tick was a
-- price (a bar or a trade print, replayed as bid = ask) with no quote behind it, as every row
-- written before these columns existed was.
ALTER TABLE market_ticks ADD COLUMN IF NOT EXISTS bid_size Nullable(UInt64) AFTER volume;
ALTER TABLE market_ticks ADD COLUMN IF NOT EXISTS ask_size Nullable(UInt64) AFTER bid_size
