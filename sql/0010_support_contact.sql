-- The merchant's support contact, shown on the payer page when a payment needs a person (expired, incomplete,
-- rejected): a support page (absolute http(s) URL) and/or an email address. Both optional.
ALTER TABLE companies ADD COLUMN support_url text;
ALTER TABLE companies ADD COLUMN support_email text;
