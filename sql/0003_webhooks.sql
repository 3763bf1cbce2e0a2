-- Webhook deliveries from the event outbox, their attempts, and secret keys that expire after a rotation.

-- A rotated-out secret key keeps signing until expires_at (the grace period), then it is inactive.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;

-- One delivery per event of a company that has a webhook URL; created by the trigger below, in the
-- transaction that writes the event, so a delivery exists exactly when its event does.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id         uuid NOT NULL UNIQUE REFERENCES events (id),
    event_seq        bigint NOT NULL,
    company_id       uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    invoice_id       uuid REFERENCES invoices (id),
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    -- attempts in the current retry window (the backoff exponent); every attempt is in webhook_attempts
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- set while a sender holds the delivery (its lease ends at next_attempt_at); cleared when it reports
    claim_token      uuid,
    window_started_at timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
-- "is an earlier event of this invoice still undelivered?" — the per-invoice ordering check
CREATE INDEX webhook_deliveries_invoice_pending ON webhook_deliveries (invoice_id, event_seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_company ON webhook_deliveries (company_id, event_seq DESC);

CREATE TABLE webhook_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    url           text,
    status_code   integer,
    error         text,
    duration_ms   integer NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

CREATE FUNCTION coinvoice_event_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (event_id, event_seq, company_id, invoice_id)
    SELECT NEW.id, NEW.seq, NEW.company_id, NEW.invoice_id
      FROM companies c WHERE c.id = NEW.company_id AND c.webhook_url IS NOT NULL;
    IF FOUND THEN
        -- delivered at commit; wakes listening senders (polling remains the safety net)
        PERFORM pg_notify('coinvoice_webhooks', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER events_delivery AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION coinvoice_event_delivery();
