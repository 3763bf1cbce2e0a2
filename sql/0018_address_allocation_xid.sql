-- Every own (not shared) address remembers the transaction that allocated it, so the block followers can keep
-- an exact in-memory set of the allocated addresses and ask PostgreSQL only about a block's few candidates
-- (chains/allocated.py). Reading "the rows allocated since the last refresh" by a serial or a timestamp would
-- miss a row whose transaction committed after a later one's; by transaction id it cannot: every transaction
-- older than a snapshot's xmin has ended, so each refresh reads the rows whose allocating transaction is not
-- older than the previous refresh's snapshot xmin (db/chain_watch.py: allocated_since).
-- Rows allocated before this migration get 0 (a constant default adds the column without rewriting the table);
-- the full load at a watcher's start reads them with all the others. pg_current_xact_id() is the top-level
-- transaction's 64-bit id (no wraparound), also for rows inserted in a subtransaction.
ALTER TABLE addresses ADD COLUMN allocated_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE addresses ALTER COLUMN allocated_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX addresses_own_allocated_xid ON addresses (chain, allocated_xid) WHERE NOT shared;
