-- Foundation: companies, tokens, wallets, assets, invoices, quotes, deposit addresses, deposits, events.

CREATE TABLE companies (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    logo_url     text,
    redirect_url text,
    webhook_url  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 of each token is kept; the token itself is shown once.
CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    company_id  uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('public', 'secret')),
    token_hash  bytea NOT NULL UNIQUE,
    -- secret keys are re-derivable for signing: HMAC(master key, key_salt); never stored themselves
    key_salt    bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_tokens_company ON api_tokens (company_id);

-- Watch-only key material per chain, and the next derivation index (an atomic counter).
CREATE TABLE company_wallets (
    company_id  uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    chain       text NOT NULL,
    xpub        text NOT NULL,
    next_index  integer NOT NULL DEFAULT 0 CHECK (next_index >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, chain)
);

CREATE TABLE company_assets (
    company_id        uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    asset             text NOT NULL,
    is_allowed        boolean NOT NULL DEFAULT false,
    underpay_static   numeric NOT NULL DEFAULT 0 CHECK (underpay_static >= 0),
    underpay_percent  numeric NOT NULL DEFAULT 0 CHECK (underpay_percent >= 0 AND underpay_percent <= 100),
    PRIMARY KEY (company_id, asset)
);

CREATE TABLE invoices (
    id                   uuid PRIMARY KEY,
    company_id           uuid NOT NULL REFERENCES companies (id),
    kind                 text NOT NULL DEFAULT 'regular',
    status               text NOT NULL CHECK (status IN
                           ('created', 'pending', 'processing', 'done', 'wrong', 'refunded', 'failed', 'expired')),
    invoice_currency     text NOT NULL,
    items                jsonb NOT NULL,
    total                numeric NOT NULL CHECK (total > 0),
    merchant_pays_fee    boolean NOT NULL DEFAULT false,
    preset_currency      text,
    payment_currency     text,
    redirect_url         text,
    client_email         text,
    resolution           text CHECK (resolution IN ('accepted', 'rejected')),
    idempotency_key      text,
    request_hash         bytea,
    created_at           timestamptz NOT NULL DEFAULT now(),
    filled_at            timestamptz,
    expires_at           timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- Only requests that carry an Idempotency-Key pay for this index.
CREATE UNIQUE INDEX invoices_idempotency ON invoices (company_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX invoices_company_created ON invoices (company_id, created_at DESC, id DESC);
-- The expiry job scans only pending invoices by due time.
CREATE INDEX invoices_pending_expiry ON invoices (expires_at) WHERE status = 'pending';

-- The price frozen when the payer fills the invoice. Amounts in base units of the payment asset.
CREATE TABLE quotes (
    invoice_id   uuid PRIMARY KEY REFERENCES invoices (id) ON DELETE CASCADE,
    asset        text NOT NULL,
    decimals     integer NOT NULL,
    rate         numeric NOT NULL CHECK (rate > 0),
    fee_units    numeric(78, 0) NOT NULL CHECK (fee_units >= 0),
    due_units    numeric(78, 0) NOT NULL CHECK (due_units > 0),
    rate_source  text NOT NULL,
    quoted_at    timestamptz NOT NULL DEFAULT now()
);

-- A deposit address belongs to one invoice, forever.
CREATE TABLE addresses (
    id                uuid PRIMARY KEY,
    chain             text NOT NULL,
    address           text NOT NULL,
    tag               text,
    derivation_index  integer,
    company_id        uuid NOT NULL REFERENCES companies (id),
    invoice_id        uuid NOT NULL UNIQUE REFERENCES invoices (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chain, address, tag)
);
CREATE UNIQUE INDEX addresses_chain_address_untagged ON addresses (chain, address) WHERE tag IS NULL;

-- Invoice transactions, keyed by outpoint / log position so that seeing one twice is harmless.
CREATE TABLE deposits (
    id             uuid PRIMARY KEY,
    invoice_id     uuid NOT NULL REFERENCES invoices (id),
    address_id     uuid NOT NULL REFERENCES addresses (id),
    chain          text NOT NULL,
    txid           text NOT NULL,
    output_index   integer NOT NULL,
    asset          text NOT NULL,
    amount_units   numeric(78, 0) NOT NULL CHECK (amount_units > 0),
    block_height   integer,
    block_hash     text,
    confirmations  integer NOT NULL DEFAULT 0,
    state          text NOT NULL DEFAULT 'seen' CHECK (state IN ('seen', 'confirmed', 'orphaned')),
    late           boolean NOT NULL DEFAULT false,
    seen_at        timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chain, txid, output_index)
);
CREATE INDEX deposits_invoice ON deposits (invoice_id);

-- The webhook outbox: one row per event, written in the transaction that made the change.
CREATE TABLE events (
    id          uuid PRIMARY KEY,
    seq         bigserial UNIQUE,
    company_id  uuid NOT NULL REFERENCES companies (id),
    invoice_id  uuid REFERENCES invoices (id),
    type        text NOT NULL,
    status      text,
    payload     json NOT NULL,  -- json, not jsonb: kept byte for byte as written, and cheaper to insert
    created_at  timestamptz NOT NULL DEFAULT now()
);
