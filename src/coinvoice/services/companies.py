"""Company use cases: create with tokens, wallets (watch-only keys) and allowed assets."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from coinvoice.addresses.derive import WALLET_CHAINS, InvalidExtendedKey, derive_address, validate_extended_key
from coinvoice.addresses.shared import SHARED_CHAINS, InvalidAddress, validate_address
from coinvoice.config import Settings
from coinvoice.db import companies as db
from coinvoice.db.companies import CompanyProfile
from coinvoice.domain.assets import COMPANY_ASSETS, UNSUPPORTED_ASSETS, chains_of
from coinvoice.domain.errors import Conflict, Invalid, NotFound
from coinvoice.services.tokens import new_key_salt, new_public_token, secret_key_from_salt, token_hash


async def create_company(
    pool: asyncpg.Pool, settings: Settings, name: str, logo_url: str | None, redirect_url: str | None
) -> dict[str, str]:
    """Create a company with a public token and a secret key; both are returned only now."""
    public = new_public_token()
    salt = new_key_salt()
    secret = secret_key_from_salt(settings.master_key, salt)
    async with pool.acquire() as conn, conn.transaction():
        company_id = await db.insert_company(conn, name, logo_url, redirect_url)
        await db.insert_token(conn, company_id, "public", token_hash(public))
        await db.insert_token(conn, company_id, "secret", token_hash(secret), salt)
    return {"id": str(company_id), "publicToken": public, "secretKey": secret}


async def company_profile(pool: asyncpg.Pool, company_id: uuid.UUID) -> CompanyProfile:
    """What creating an invoice needs of a company (the dashboard's user belongs to it)."""
    profile = await db.company_profile(pool, company_id)
    if profile is None:
        raise NotFound("company_not_found", f"no company {company_id}", "id")
    return profile


async def replace_public_token(pool: asyncpg.Pool, company_id: uuid.UUID) -> dict[str, str]:
    """Revoke every public token of a company and issue a new one (shown only now)."""
    public = new_public_token()
    async with pool.acquire() as conn, conn.transaction():
        if not await db.company_exists(conn, company_id):
            raise NotFound("company_not_found", f"no company {company_id}", "id")
        await db.revoke_public_tokens(conn, company_id)
        await db.insert_token(conn, company_id, "public", token_hash(public))
    return {"id": str(company_id), "publicToken": public}


async def set_wallet(
    pool: asyncpg.Pool,
    settings: Settings,
    company_id: uuid.UUID,
    chain: str,
    key: str | None,
    *,
    address: str | None = None,
) -> dict[str, str]:
    """Store the company's account key (``xpub``) on ``chain``, or its one address on a shared-address chain."""
    if chain in SHARED_CHAINS:
        return await _set_shared_address(pool, settings, company_id, chain, address)
    if chain not in WALLET_CHAINS:
        chains = ", ".join(WALLET_CHAINS + SHARED_CHAINS)
        raise Invalid("unknown_chain", f"chain must be one of {chains}", "chain")
    if key is None:
        raise Invalid("required", f'{chain} takes the account\'s extended public key: {{"xpub": "…"}}', "xpub")
    network = settings.chain(chain).network
    try:
        normalized = validate_extended_key(chain, network, key)
    except InvalidExtendedKey as exc:
        raise Invalid("invalid_xpub", str(exc), "xpub") from exc
    async with pool.acquire() as conn:
        await db.upsert_wallet(conn, company_id, chain, normalized)
    return {"chain": chain, "network": network, "xpub": normalized}


async def _set_shared_address(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, chain: str, address: str | None
) -> dict[str, str]:
    """ed25519 chains have no watch-only derivation: one address, and each invoice gets a reference or comment."""
    if address is None:
        raise Invalid("required", f'{chain} takes one address of your wallet: {{"address": "…"}}', "address")
    network = settings.chain(chain).network
    try:
        normalized = validate_address(chain, network, address)
    except InvalidAddress as exc:
        raise Invalid("invalid_address", str(exc), "address") from exc
    async with pool.acquire() as conn, conn.transaction():
        if not await db.upsert_wallet_address(conn, company_id, chain, normalized):
            raise Conflict("address_in_use", f"this {chain} address belongs to another company", "address")
    return {"chain": chain, "network": network, "address": normalized}


async def get_wallets(pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID) -> dict[str, Any]:
    """The company's watch-only keys and how many addresses each has handed out."""
    rows = await db.wallets(pool, company_id)
    return {
        "wallets": [
            {
                "chain": r["chain"],
                "network": settings.chain(r["chain"]).network,
                **({"address": r["address"]} if r["address"] else {"xpub": r["xpub"]}),
                "addressesAllocated": r["next_index"],
            }
            for r in rows
        ]
    }


def assets_wire(allowed: dict[str, bool]) -> list[dict[str, Any]]:
    return [{"asset": a, "isAllowed": bool(allowed.get(a, False))} for a in COMPANY_ASSETS]


async def get_assets(pool: asyncpg.Pool, company_id: uuid.UUID) -> dict[str, Any]:
    return {"assets": assets_wire(await db.allowed_assets(pool, company_id))}


async def set_assets(pool: asyncpg.Pool, company_id: uuid.UUID, changes: dict[str, bool]) -> dict[str, Any]:
    """Allow or disallow assets; allowing needs a wallet on a chain that carries the asset."""
    async with pool.acquire() as conn, conn.transaction():
        have = await db.wallet_chains(conn, company_id)
        for asset, allowed in changes.items():
            field = f"assets.{asset}"
            if asset not in COMPANY_ASSETS:
                raise Invalid("unknown_asset", f"unknown asset {asset!r}", field)
            if allowed:
                chains = list(chains_of(asset))
                if asset in UNSUPPORTED_ASSETS or not chains:
                    raise Invalid("asset_not_supported", f"{asset} is not supported yet", field)
                if not have.intersection(chains):
                    need = " or ".join(chains)
                    raise Invalid("wallet_required", f"set a {need} wallet before allowing {asset}", field)
            await db.set_asset_allowed(conn, company_id, asset, allowed)
        return {"assets": assets_wire(await db.allowed_assets(conn, company_id))}


PREVIEW_COUNT = 5


async def wallets_with_preview(pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID) -> list[dict[str, Any]]:
    """The company's wallets, each key with its first receive addresses (index 0 to 4), for the merchant to compare
    with their own wallet before accepting payments."""
    wallets: list[dict[str, Any]] = (await get_wallets(pool, settings, company_id))["wallets"]
    for wallet in wallets:
        key = wallet.get("xpub")
        wallet["preview"] = (
            [derive_address(wallet["chain"], wallet["network"], key, i) for i in range(PREVIEW_COUNT)] if key else []
        )
    return wallets
