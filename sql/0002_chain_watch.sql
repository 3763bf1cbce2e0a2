-- Chain watching: a cursor per chain, recent block hashes for reorg detection, and deposit indexes.

-- The last block a chain's watcher has fully processed.
CREATE TABLE chain_cursors (
    chain       text PRIMARY KEY,
    height      integer NOT NULL CHECK (height >= 0),
    hash        text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Recent blocks as the watcher saw them (about the last 100 per chain): a stored hash that the node
-- no longer has at that height is a reorg; walking back to the first agreeing height finds the fork.
CREATE TABLE chain_blocks (
    chain      text NOT NULL,
    height     integer NOT NULL CHECK (height >= 0),
    hash       text NOT NULL,
    prev_hash  text,
    PRIMARY KEY (chain, height)
);

-- Deposits by block height: orphaning above a fork and refreshing confirmations of recent blocks.
CREATE INDEX deposits_chain_height ON deposits (chain, block_height) WHERE state <> 'orphaned';
-- Unconfirmed deposits (in the mempool or short of their confirmations), polled every interval.
CREATE INDEX deposits_chain_unconfirmed ON deposits (chain) WHERE state = 'seen';
