-- The highest derivation index each account key has reached for a company and chain. Setting another key and
-- later the old one again resumes where the old key stopped, so no address is handed out twice and an
-- allocation never has to skip past addresses already used.
CREATE TABLE wallet_key_indexes (
    company_id  uuid NOT NULL REFERENCES companies (id),
    chain       text NOT NULL,
    xpub        text NOT NULL,
    next_index  integer NOT NULL CHECK (next_index >= 0),
    PRIMARY KEY (company_id, chain, xpub)
);
INSERT INTO wallet_key_indexes (company_id, chain, xpub, next_index)
    SELECT company_id, chain, xpub, next_index FROM company_wallets WHERE xpub IS NOT NULL;
