-- Any-amount ("unlimited") invoices: a payment asset and no price. The payer sends what they like, as often as
-- they like, to one derived address; every deposit is credited as it arrives. No quote row: nothing is priced.
-- The invoice stays open (pending) until expires_at (set when filled: COINVOICE_UNLIMITED_OPEN_HOURS later, or
-- the merchant's close), then becomes done when something was received, expired when nothing was.

ALTER TABLE invoices ALTER COLUMN total DROP NOT NULL;
ALTER TABLE invoices ADD CONSTRAINT invoices_total_unless_unlimited CHECK (kind = 'unlimited' OR total IS NOT NULL);
ALTER TABLE invoices
    ADD COLUMN description         text CHECK (length(description) <= 2000),
    ADD COLUMN external_reference  text CHECK (length(external_reference) <= 200);  -- the merchant's own, free
-- The job that closes any-amount invoices at the end of their window scans only those.
CREATE INDEX invoices_unlimited_open ON invoices (expires_at) WHERE kind = 'unlimited' AND status = 'pending';
