-- Asset-aware deposits: everything that reaches one of our addresses is recorded; only what matches the
-- invoice's frozen quote (chain, address, tag and asset or exact token contract) is credited.

ALTER TABLE deposits ALTER COLUMN invoice_id DROP NOT NULL;   -- NULL: no invoice it can belong to
ALTER TABLE deposits ALTER COLUMN address_id DROP NOT NULL;
ALTER TABLE deposits ALTER COLUMN asset DROP NOT NULL;        -- NULL: a token contract we do not know
ALTER TABLE deposits ADD COLUMN company_id uuid REFERENCES companies (id);
ALTER TABLE deposits ADD COLUMN address text;
UPDATE deposits d SET company_id = a.company_id, address = a.address FROM addresses a WHERE a.id = d.address_id;
ALTER TABLE deposits ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE deposits ALTER COLUMN address SET NOT NULL;
ALTER TABLE deposits ADD COLUMN tag text;
ALTER TABLE deposits ADD COLUMN contract text;                -- token contract; NULL for the chain's own coin
ALTER TABLE deposits ADD COLUMN credited boolean NOT NULL DEFAULT true;
ALTER TABLE deposits ADD COLUMN reason text
    CHECK (reason IN ('wrong_asset', 'unknown_token', 'after_late_window', 'no_invoice'));
ALTER TABLE deposits ADD CONSTRAINT deposits_reason_when_not_credited CHECK (credited = (reason IS NULL));

-- The merchant's deposit list, newest first, keyset-paginated on (seen_at, id).
CREATE INDEX deposits_company_seen ON deposits (company_id, seen_at DESC, id DESC);
