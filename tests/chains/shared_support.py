"""Helpers for the shared-address watcher tests (Solana, TON): settings pointed at a stand-in, a merchant with
one address over the API, scanners, amounts."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg

from coinvoice.chains.registry import ACCOUNT_ADAPTERS
from coinvoice.chains.scanner import AccountScanner
from coinvoice.config import Settings
from coinvoice.domain.chains import CHAINS
from tests.chains.watch_support import filled_invoice

__all__ = ["filled_invoice"]  # re-exported: invoices are filled the same way on every chain

DECIMALS = 9  # lamports per SOL and nanotons per TON are both 10**9


def shared_settings(settings: Settings, chain: str, url: str, *, confirmations: int = 1, **changes: Any) -> Settings:
    """Test settings with ``chain`` watched at ``url`` (a stand-in) and its coin needing ``confirmations``."""
    network = "regtest" if chain == "solana" else "testnet"
    chains = {**settings.chains, chain: replace(settings.chain(chain), network=network, rpc_url=url, **changes)}
    native = CHAINS[chain].native
    return replace(settings, chains=chains, confirmations={**settings.confirmations, native: confirmations})


def scanner(settings: Settings, pool: asyncpg.Pool, session: aiohttp.ClientSession, chain: str, **options: Any):
    adapter = ACCOUNT_ADAPTERS[CHAINS[chain].family](CHAINS[chain], settings, session)
    return AccountScanner(adapter, settings, pool, **options)


async def accept_shared(api, company: dict[str, str], chain: str, address: str) -> dict[str, Any]:
    """Give the company its one ``chain`` address and allow the chain's coin, over the API."""
    token = company["publicToken"]
    status, body = await api.call("PUT", f"/api/company/wallets/{chain}", token=token, json_body={"address": address})
    assert status == 200, body
    asset = CHAINS[chain].native
    status, allowed = await api.call(
        "PATCH", "/api/company/assets", token=token, json_body={"assets": {asset: {"isAllowed": True}}}
    )
    assert status == 200, allowed
    return body


def units(view: dict[str, Any]) -> int:
    """The amount due in base units (lamports, nanotons)."""
    value = Decimal(view["paymentDetails"]["amount"]).scaleb(DECIMALS)
    assert value == value.to_integral_value()
    return int(value)


async def status_of(api, invoice_id: str) -> str:
    status, view = await api.call("GET", f"/api/invoices/v1/regular/{invoice_id}")
    assert status == 200, view
    return view["status"]


async def deposits_at(pool: asyncpg.Pool, chain: str, address: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT txid, output_index, amount_units, tag, credited, reason, state, invoice_id, confirmations"
        " FROM deposits WHERE chain = $1 AND address = $2 ORDER BY seen_at, txid",
        chain,
        address,
    )


async def listed_deposits(api, company: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    status, page = await api.call("GET", f"/api/company/deposits?{query}", token=company["publicToken"])
    assert status == 200, page
    return page["items"]


def company_id(company: dict[str, str]) -> uuid.UUID:
    return uuid.UUID(company["id"])
