-- The sender's lease gets a column of its own, in no index: claiming a delivery (lease, token, attempt count)
-- then changes no indexed column, so PostgreSQL updates the row in place on its page (a HOT update: no new
-- index entries in the pending partition's five indexes). Before, the lease was next_attempt_at itself, and
-- every claim wrote a row version plus an entry in each index. next_attempt_at now says only when a delivery
-- is due (first try or a retry); a row is claimable when it is due and not leased (leased_until NULL or past).
-- The pending partition keeps room on every page for those in-place updates (fillfactor; new pages only).
ALTER TABLE webhook_deliveries ADD COLUMN leased_until timestamptz;
ALTER TABLE webhook_deliveries_pending SET (fillfactor = 50);
