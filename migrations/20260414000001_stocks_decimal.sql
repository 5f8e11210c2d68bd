-- Money is exact: the stock game's cash, quantities and prices become NUMERIC(18,4) (no float drift over
-- many fractional trades). stock_price_cache stays DOUBLE PRECISION: a 60-second display cache only.

ALTER TABLE stock_portfolios
    ALTER COLUMN cash_balance TYPE NUMERIC(18, 4) USING cash_balance::NUMERIC(18, 4),
    ALTER COLUMN cash_balance SET DEFAULT 1000.0000;

ALTER TABLE stock_holdings
    ALTER COLUMN quantity TYPE NUMERIC(18, 4) USING quantity::NUMERIC(18, 4),
    ALTER COLUMN quantity SET DEFAULT 0.0000,
    ALTER COLUMN avg_cost TYPE NUMERIC(18, 4) USING avg_cost::NUMERIC(18, 4),
    ALTER COLUMN avg_cost SET DEFAULT 0.0000;

ALTER TABLE stock_transactions
    ALTER COLUMN quantity TYPE NUMERIC(18, 4) USING quantity::NUMERIC(18, 4),
    ALTER COLUMN price_per_share TYPE NUMERIC(18, 4) USING price_per_share::NUMERIC(18, 4),
    ALTER COLUMN total_amount TYPE NUMERIC(18, 4) USING total_amount::NUMERIC(18, 4);
