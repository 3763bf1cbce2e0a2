-- Shared merchant addresses (Solana, TON): ed25519 has no public child derivation, so the merchant gives one
-- address per chain and every invoice on it is told apart by a Solana Pay reference key or a TON text comment
-- (addresses.tag), and by an amount due that is unique among the open invoices on that address.

-- A company's wallet on a chain is either an account key (xpub) or, on a shared-address chain, one address.
ALTER TABLE company_wallets ALTER COLUMN xpub DROP NOT NULL;
ALTER TABLE company_wallets ADD COLUMN address text;
ALTER TABLE company_wallets ADD CONSTRAINT company_wallets_key_or_address CHECK ((xpub IS NULL) <> (address IS NULL));
-- One company per address and chain: a payment that matches no invoice still belongs to exactly one merchant.
CREATE UNIQUE INDEX company_wallets_chain_address ON company_wallets (chain, address) WHERE address IS NOT NULL;

-- shared: the row is the merchant's own address, used by many invoices (never derived, never unique per invoice).
ALTER TABLE addresses ADD COLUMN shared boolean NOT NULL DEFAULT false;
-- The Solana Pay reference key a payer's wallet adds to the transfer as a read-only account.
ALTER TABLE addresses ADD COLUMN reference text;
ALTER TABLE addresses ADD CONSTRAINT addresses_shared_told_apart
    CHECK (NOT shared OR tag IS NOT NULL OR reference IS NOT NULL);
DROP INDEX addresses_chain_address_untagged;
CREATE UNIQUE INDEX addresses_chain_address_own ON addresses (chain, address) WHERE NOT shared;
CREATE UNIQUE INDEX addresses_chain_reference ON addresses (chain, reference) WHERE reference IS NOT NULL;

-- The last transaction a watcher has read of each shared address (Solana: a signature; TON: "lt:hash").
CREATE TABLE account_cursors (
    chain       text NOT NULL,
    address     text NOT NULL,
    cursor      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain, address)
);

-- Unconfirmed deposits of a shared address, re-checked every round until they are final.
CREATE INDEX deposits_chain_address_unconfirmed ON deposits (chain, address) WHERE state = 'seen';
