-- A deposit that was not credited (wrong asset, after the late window, no invoice) can be accepted by the merchant
-- into an invoice of the same payment asset: it is then credited and counts as if it had arrived in time.
-- accepted_reason keeps why it was not credited before (reason must be NULL on a credited deposit).
ALTER TABLE deposits ADD COLUMN accepted_at timestamptz;
ALTER TABLE deposits ADD COLUMN accepted_reason text
    CHECK (accepted_reason IN ('wrong_asset', 'after_late_window', 'no_invoice'));
ALTER TABLE deposits ADD CONSTRAINT deposits_accepted_credited CHECK (accepted_at IS NULL OR credited);
