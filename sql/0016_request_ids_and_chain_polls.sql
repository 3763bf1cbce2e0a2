-- The X-Request-Id of the request that caused an event or an email, so the worker that later sends it can log it
-- (NULL when a worker caused it: a chain watcher, the expiry job).
ALTER TABLE events ADD COLUMN request_id text;
ALTER TABLE email_outbox ADD COLUMN request_id text;

-- Each chain watcher's view of the node: the tip it saw as its latest round began, and when its last round
-- succeeded. With chain_cursors this gives /metrics, in any process, the watcher's lag (tip minus cursor, which
-- shrinks as a long catch-up commits block by block) and the time of its last good poll.
CREATE TABLE chain_polls (
    chain        text PRIMARY KEY,
    tip_height   bigint NOT NULL,
    tip_seen_at  timestamptz NOT NULL,
    polled_at    timestamptz
);
