-- Rates: the cache the refresh job fills from the market and every process quotes from, network-fee
-- estimates from the nodes, and the provenance of each frozen quote.

-- The last good price each provider reported per market pair (rate = units of quote per one base).
CREATE TABLE rate_observations (
    provider    text NOT NULL,
    base        text NOT NULL,
    quote       text NOT NULL,
    rate        numeric NOT NULL CHECK (rate > 0),
    observed_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, base, quote)
);

-- The network cost of one typical payment per payment asset, in its chain's native coin.
CREATE TABLE network_fee_estimates (
    payment_asset text PRIMARY KEY,
    coin          text NOT NULL,
    fee           numeric NOT NULL CHECK (fee >= 0),
    source        text NOT NULL,
    observed_at   timestamptz NOT NULL
);

-- What a quote was built from: the sources of its rate (name, rate, time, cross currency), the spread,
-- and the payer's network cost inside fee_units.
ALTER TABLE quotes
    ADD COLUMN rate_sources       jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN spread_percent     numeric NOT NULL DEFAULT 0,
    ADD COLUMN network_fee_units  numeric(78, 0) NOT NULL DEFAULT 0 CHECK (network_fee_units >= 0),
    ADD COLUMN network_fee_source text;
