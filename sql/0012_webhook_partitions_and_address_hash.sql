-- Webhook deliveries partitioned by state, so the sender's queue stays small however long the history grows:
-- pending rows live in webhook_deliveries_pending; a delivered (or failed) delivery moves to
-- webhook_deliveries_done when its outcome is recorded (an UPDATE of state moves the row). The claim, the
-- per-invoice ordering check and the next-due query read only the pending partition. Delivered rows older
-- than COINVOICE_WEBHOOK_RETENTION_DAYS are deleted with their attempts by the retention job
-- (db/webhooks.py: delete_delivered_before).

-- A partitioned table's unique keys must include the partition key, and a foreign key to it would have to
-- name (id, state): attempts keep their delivery_id without a foreign key (the retention job deletes them).
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_delivery_id_fkey;

ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_unpartitioned;

CREATE TABLE webhook_deliveries (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    event_id         uuid NOT NULL,
    event_seq        bigint NOT NULL,
    company_id       uuid NOT NULL,
    invoice_id       uuid,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claim_token      uuid,
    window_started_at timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, state),
    -- one delivery per event: the trigger inserts exactly one, and a row is in one state at a time
    UNIQUE (event_id, state)
) PARTITION BY LIST (state);

CREATE TABLE webhook_deliveries_pending PARTITION OF webhook_deliveries FOR VALUES IN ('pending')
    -- a queue: rows come and go all the time; vacuum and analyze it often so that dead rows and stale
    -- statistics never make the claim slower
    WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
          autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 2000);
CREATE TABLE webhook_deliveries_done PARTITION OF webhook_deliveries FOR VALUES IN ('delivered', 'failed');
-- Rows enter through the pending partition (the trigger inserts them there; a redelivery moves one back):
-- its foreign keys check every delivery once. Moving a row to the done partition checks nothing again.
ALTER TABLE webhook_deliveries_pending ADD FOREIGN KEY (event_id) REFERENCES events (id),
    ADD FOREIGN KEY (company_id) REFERENCES companies (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (invoice_id) REFERENCES invoices (id);

INSERT INTO webhook_deliveries SELECT id, event_id, event_seq, company_id, invoice_id, state, attempts,
    next_attempt_at, claim_token, window_started_at, last_status_code, last_error, delivered_at, created_at,
    updated_at FROM webhook_deliveries_unpartitioned;
DROP TABLE webhook_deliveries_unpartitioned;

-- The queue's indexes exist on the pending partition only, and as few as the queries need: every claim
-- rewrites a row's index entries (next_attempt_at is its lease), and moving it out writes only the done
-- partition's few.
-- when the next delivery falls due (db/webhooks.py: seconds_until_next_due walks it in order, skipping blocked rows)
CREATE INDEX webhook_deliveries_due ON webhook_deliveries_pending (next_attempt_at);
-- the claim walks the companies with pending rows (a skip scan) and takes each one's oldest due rows
CREATE INDEX webhook_deliveries_company_due ON webhook_deliveries_pending (company_id, next_attempt_at);
-- "is an earlier event of this invoice still undelivered?" — the per-invoice ordering check
CREATE INDEX webhook_deliveries_invoice_pending ON webhook_deliveries_pending (invoice_id, event_seq);
-- the delivery log, newest first (the pending partition is small: its rows of one company are sorted)
CREATE INDEX webhook_deliveries_company ON webhook_deliveries_done (company_id, event_seq DESC);
CREATE INDEX webhook_deliveries_delivered_at ON webhook_deliveries_done (delivered_at) WHERE state = 'delivered';

-- The outbox trigger inserts straight into the pending partition: no tuple routing through the parent on
-- every event (that cost the create-invoice statement about as much as the rest of its inserts together).
CREATE OR REPLACE FUNCTION coinvoice_event_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries_pending (event_id, event_seq, company_id, invoice_id)
    SELECT NEW.id, NEW.seq, NEW.company_id, NEW.invoice_id
      FROM companies c WHERE c.id = NEW.company_id AND c.webhook_url IS NOT NULL;
    IF FOUND THEN
        -- delivered at commit; wakes listening senders (polling remains the safety net)
        PERFORM pg_notify('coinvoice_webhooks', '');
    END IF;
    RETURN NULL;
END $$;

-- Matching a block's outputs probes this index once per output address. A hash index costs one bucket page per
-- probe whatever the number of allocated addresses (the (chain, address) btree grows a level from 1k to 1M and
-- its probes with it); the btree stays for uniqueness. EXPLAIN at 1M addresses: 876 buffer hits for 607
-- outputs, against 1,828 at 100k with the btree. (db/chain_watch.py: match_addresses)
CREATE INDEX addresses_own_address_hash ON addresses USING hash (address) WHERE NOT shared;
