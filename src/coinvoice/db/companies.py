"""SQL for companies, their API tokens, wallets and asset settings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool


@dataclass(frozen=True, slots=True)
class CompanyProfile:
    """What a request needs to know of the company behind a token."""

    id: uuid.UUID
    name: str
    logo_url: str | None = None
    redirect_url: str | None = None
    assets: Mapping[str, bool] = field(default_factory=dict)  # asset -> is_allowed


async def insert_company(conn: Conn, name: str, logo_url: str | None, redirect_url: str | None) -> uuid.UUID:
    company_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO companies (id, name, logo_url, redirect_url) VALUES ($1, $2, $3, $4)",
        company_id,
        name,
        logo_url,
        redirect_url,
    )
    return company_id


async def insert_token(
    conn: Conn, company_id: uuid.UUID, kind: str, token_hash: bytes, key_salt: bytes | None = None
) -> None:
    """Store a token's hash (and, for a secret key, the salt it is re-derived from)."""
    await conn.execute(
        "INSERT INTO api_tokens (company_id, kind, token_hash, key_salt) VALUES ($1, $2, $3, $4)",
        company_id,
        kind,
        token_hash,
        key_salt,
    )


async def company_for_token(conn: ConnOrPool, token_hash: bytes) -> CompanyProfile | None:
    row = await conn.fetchrow(
        "SELECT c.id, c.name, c.logo_url, c.redirect_url,"
        " (SELECT coalesce(json_object_agg(a.asset, a.is_allowed), '{}') FROM company_assets a"
        "   WHERE a.company_id = c.id) AS assets"
        " FROM api_tokens t JOIN companies c ON c.id = t.company_id"
        " WHERE t.token_hash = $1 AND t.kind = 'public' AND t.revoked_at IS NULL",
        token_hash,
    )
    if row is None:
        return None
    return CompanyProfile(row["id"], row["name"], row["logo_url"], row["redirect_url"], row["assets"])


async def company_profile(conn: ConnOrPool, company_id: uuid.UUID) -> CompanyProfile | None:
    row = await conn.fetchrow(
        "SELECT c.id, c.name, c.logo_url, c.redirect_url,"
        " (SELECT coalesce(json_object_agg(a.asset, a.is_allowed), '{}') FROM company_assets a"
        "   WHERE a.company_id = c.id) AS assets"
        " FROM companies c WHERE c.id = $1",
        company_id,
    )
    if row is None:
        return None
    return CompanyProfile(row["id"], row["name"], row["logo_url"], row["redirect_url"], row["assets"])


async def company_exists(conn: Conn, company_id: uuid.UUID) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM companies WHERE id = $1)", company_id)


async def revoke_public_tokens(conn: Conn, company_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE company_id = $1 AND kind = 'public' AND revoked_at IS NULL",
        company_id,
    )


async def upsert_wallet(conn: Conn, company_id: uuid.UUID, chain: str, xpub: str) -> None:
    """Store a chain's extended key. The outgoing key's index is remembered; a key set again resumes after the
    highest index it ever reached, a key never seen starts at 0."""
    await conn.execute(
        "WITH saved AS ("
        "  INSERT INTO wallet_key_indexes (company_id, chain, xpub, next_index)"
        "  SELECT company_id, chain, xpub, next_index FROM company_wallets"
        "  WHERE company_id = $1 AND chain = $2 AND xpub IS NOT NULL"
        "  ON CONFLICT (company_id, chain, xpub) DO UPDATE"
        "  SET next_index = GREATEST(wallet_key_indexes.next_index, EXCLUDED.next_index))"
        " INSERT INTO company_wallets (company_id, chain, xpub, next_index) VALUES ($1, $2, $3, COALESCE("
        "  (SELECT next_index FROM wallet_key_indexes WHERE company_id = $1 AND chain = $2 AND xpub = $3), 0))"
        " ON CONFLICT (company_id, chain) DO UPDATE SET xpub = EXCLUDED.xpub, updated_at = now(),"
        " next_index = CASE WHEN company_wallets.xpub = EXCLUDED.xpub THEN company_wallets.next_index"
        " ELSE EXCLUDED.next_index END",
        company_id,
        chain,
        xpub,
    )


async def upsert_wallet_address(conn: Conn, company_id: uuid.UUID, chain: str, address: str) -> bool:
    """Store a company's one address on a shared-address chain; False when another company uses that address."""
    taken = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM addresses WHERE chain = $1 AND address = $2 AND company_id <> $3)"
        " OR EXISTS (SELECT 1 FROM company_wallets WHERE chain = $1 AND address = $2 AND company_id <> $3)",
        chain,
        address,
        company_id,
    )
    if taken:
        return False
    try:
        await conn.execute(
            "INSERT INTO company_wallets (company_id, chain, address) VALUES ($1, $2, $3)"
            " ON CONFLICT (company_id, chain) DO UPDATE SET address = EXCLUDED.address, xpub = NULL,"
            " updated_at = now()",
            company_id,
            chain,
            address,
        )
    except asyncpg.UniqueViolationError:  # another company took it meanwhile
        return False
    return True


async def take_shared_address(conn: Conn, company_id: uuid.UUID, chain: str) -> str | None:
    """The company's address on a shared-address chain, counting one more invoice on it.

    The row stays locked until the transaction ends: fills on one address take turns, so each sees the amounts
    due that the fills before it chose.
    """
    return await conn.fetchval(
        "UPDATE company_wallets SET next_index = next_index + 1"
        " WHERE company_id = $1 AND chain = $2 AND address IS NOT NULL RETURNING address",
        company_id,
        chain,
    )


async def wallet_chains(conn: ConnOrPool, company_id: uuid.UUID) -> set[str]:
    rows = await conn.fetch("SELECT chain FROM company_wallets WHERE company_id = $1", company_id)
    return {r["chain"] for r in rows}


async def wallets(conn: ConnOrPool, company_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT chain, xpub, address, next_index, updated_at FROM company_wallets WHERE company_id = $1 ORDER BY chain",
        company_id,
    )


async def take_derivation_index(conn: Conn, company_id: uuid.UUID, chain: str) -> tuple[str, int] | None:
    """Atomically take the next derivation index of a company's chain wallet: (xpub, index)."""
    row = await conn.fetchrow(
        "UPDATE company_wallets SET next_index = next_index + 1 WHERE company_id = $1 AND chain = $2"
        " AND xpub IS NOT NULL RETURNING xpub, next_index - 1 AS index",
        company_id,
        chain,
    )
    return (row["xpub"], row["index"]) if row else None


class ReservedIndex(NamedTuple):
    company_id: uuid.UUID
    chain: str
    xpub: str
    derivation_index: int


async def reserve_derivation_index(
    conn: Conn, invoice_id: uuid.UUID, code: str, asset: str, chain: str
) -> ReservedIndex | None:
    """Take the next derivation index for filling invoice ``invoice_id`` with ``code``, in a statement of its own
    (autocommit), before the fill's transaction: the wallet row is locked only while this statement commits, so
    the fills of one merchant do not queue on it for their whole transaction. None (nothing taken) unless the
    invoice is still created, has no other preset currency, and the company allows ``asset`` and has a key."""
    row = await conn.fetchrow(
        "UPDATE company_wallets w SET next_index = w.next_index + 1 FROM invoices i"
        " WHERE i.id = $1 AND i.status = 'created' AND coalesce(i.preset_currency, $2) = $2"
        " AND w.company_id = i.company_id AND w.chain = $4 AND w.xpub IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM company_assets a WHERE a.company_id = i.company_id AND a.asset = $3"
        " AND a.is_allowed) RETURNING w.company_id, w.xpub, w.next_index - 1 AS index",
        invoice_id,
        code,
        asset,
        chain,
    )
    return ReservedIndex(row["company_id"], chain, row["xpub"], row["index"]) if row else None


async def release_derivation_index(conn: Conn, reserved: ReservedIndex) -> None:
    """Give back a reserved index that was not used, unless a later one was taken meanwhile (then it stays a gap)."""
    await conn.execute(
        "UPDATE company_wallets SET next_index = $3 WHERE company_id = $1 AND chain = $2 AND next_index = $3 + 1",
        reserved.company_id,
        reserved.chain,
        reserved.derivation_index,
    )


async def allowed_assets(conn: ConnOrPool, company_id: uuid.UUID) -> dict[str, bool]:
    rows = await conn.fetch("SELECT asset, is_allowed FROM company_assets WHERE company_id = $1", company_id)
    return {r["asset"]: r["is_allowed"] for r in rows}


async def set_asset_allowed(conn: Conn, company_id: uuid.UUID, asset: str, allowed: bool) -> None:
    await conn.execute(
        "INSERT INTO company_assets (company_id, asset, is_allowed) VALUES ($1, $2, $3)"
        " ON CONFLICT (company_id, asset) DO UPDATE SET is_allowed = EXCLUDED.is_allowed",
        company_id,
        asset,
        allowed,
    )


async def underpayment_limit(conn: Conn, company_id: uuid.UUID, asset: str) -> tuple[Decimal, Decimal]:
    row = await conn.fetchrow(
        "SELECT underpay_static, underpay_percent FROM company_assets WHERE company_id = $1 AND asset = $2",
        company_id,
        asset,
    )
    return (row["underpay_static"], row["underpay_percent"]) if row else (Decimal(0), Decimal(0))
