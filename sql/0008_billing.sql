-- Billing: products, prices, customers; billing invoices (draft -> open -> paid / voided / uncollectible)
-- on the invoices table, with a per-company gap-free reference counter.

CREATE TABLE products (
    id           uuid PRIMARY KEY,
    company_id   uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text CHECK (length(description) <= 2000),
    active       boolean NOT NULL DEFAULT true,
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_company_created ON products (company_id, created_at DESC, id DESC);

-- A price is never edited once an invoice used it (used = true); archive it and make a new one.
CREATE TABLE prices (
    id                uuid PRIMARY KEY,
    company_id        uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    product_id        uuid NOT NULL REFERENCES products (id),
    invoice_currency  text NOT NULL,
    unit_amount       numeric NOT NULL CHECK (unit_amount >= 0),
    active            boolean NOT NULL DEFAULT true,
    used              boolean NOT NULL DEFAULT false,
    metadata          jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prices_company_created ON prices (company_id, created_at DESC, id DESC);

CREATE TABLE customers (
    id           uuid PRIMARY KEY,
    company_id   uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    email        text,
    name         text CHECK (length(name) <= 200),
    metadata     jsonb NOT NULL DEFAULT '{}',
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_company_created ON customers (company_id, created_at DESC, id DESC);

ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK (status IN
    ('draft', 'created', 'pending', 'processing', 'done', 'wrong', 'refunded', 'failed', 'expired',
     'voided', 'uncollectible'));
ALTER TABLE invoices
    ADD COLUMN customer_id     uuid REFERENCES customers (id),
    ADD COLUMN customer        jsonb,          -- frozen at finalization: {id, email, name}
    ADD COLUMN lines           jsonb,          -- billing line items: {priceId?, name, unitAmount, quantity, amount}
    ADD COLUMN reference       text,           -- INV-000123, set at finalization
    ADD COLUMN due_at          timestamptz,
    ADD COLUMN days_until_due  integer CHECK (days_until_due BETWEEN 0 AND 3650),
    ADD COLUMN metadata        jsonb,
    ADD COLUMN notes           text,
    ADD COLUMN finalized_at    timestamptz,
    ADD COLUMN closed_at       timestamptz,    -- voided or marked uncollectible
    ADD COLUMN deleted_at      timestamptz;    -- a deleted draft: kept for its events, 404 on the wire
CREATE UNIQUE INDEX invoices_company_reference ON invoices (company_id, reference) WHERE reference IS NOT NULL;
CREATE INDEX invoices_billing_due ON invoices (due_at) WHERE kind = 'billing' AND due_at IS NOT NULL;

-- The next reference number per company: taken with UPDATE ... RETURNING in the finalizing transaction, so
-- concurrent finalizations take turns on the row and a rolled-back one gives its number back (no gaps).
CREATE TABLE billing_sequences (
    company_id   uuid PRIMARY KEY REFERENCES companies (id) ON DELETE CASCADE,
    next_number  bigint NOT NULL DEFAULT 1
);

-- A billing invoice may outlive its quotes: when one lapses unpaid before the due date the invoice reopens, and
-- the payer's next fill gets a fresh rate and a new address. The lapsed quote moves to quote_history; its
-- address stays bound to the invoice (retired), so a late payment to it is still recognised.
ALTER TABLE addresses DROP CONSTRAINT addresses_invoice_id_key;
ALTER TABLE addresses ADD COLUMN retired_at timestamptz;
CREATE UNIQUE INDEX addresses_invoice_live ON addresses (invoice_id) WHERE retired_at IS NULL;
CREATE INDEX addresses_invoice ON addresses (invoice_id);
CREATE TABLE quote_history (
    LIKE quotes INCLUDING DEFAULTS,
    address_id  uuid REFERENCES addresses (id),
    retired_at  timestamptz NOT NULL
);
CREATE INDEX quote_history_invoice ON quote_history (invoice_id);

-- The email outbox: messages rendered in the transaction that decided to send them, sent by a job with retries.
CREATE TABLE email_outbox (
    id               uuid PRIMARY KEY,
    company_id       uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    invoice_id       uuid REFERENCES invoices (id),
    kind             text NOT NULL CHECK (kind IN ('invoice', 'receipt')),
    to_address       text NOT NULL,
    subject          text NOT NULL,
    text_body        text NOT NULL,
    html_body        text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX email_outbox_invoice ON email_outbox (invoice_id);
