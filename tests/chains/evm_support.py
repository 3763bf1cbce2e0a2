"""Helpers for the EVM watcher tests: settings pointed at anvil, an ETH/USDT merchant over the API, payments."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg

from coinvoice.chains.evm.adapter import EvmAdapter
from coinvoice.chains.follower import BlockFollower
from coinvoice.config import Settings
from coinvoice.domain.chains import CHAINS
from tests.chains.watch_support import filled_invoice
from tests.conftest import TPUB

__all__ = ["filled_invoice"]  # re-exported: the EVM tests fill invoices the same way
from tests.support.anvil import AnvilNode

_indexes = random.Random()
USDT_DECIMALS = 6


def evm_settings(
    settings: Settings,
    node: AnvilNode,
    *,
    chain: str = "ethereum",
    tokens: dict[str, str] | None = None,
    confirmations: int = 1,
    **chain_changes: Any,
) -> Settings:
    """Test settings with ``chain`` watched on ``node`` and every asset of it needing ``confirmations``."""
    chains = dict(settings.chains)
    chains[chain] = replace(
        settings.chain(chain), network="regtest", rpc_url=node.rpc_url, chain_id=node.chain_id, **chain_changes
    )
    needed = {code: confirmations for code in ("eth", "usdterc20", "usdc", "bnb")}
    return replace(
        settings,
        chains=chains,
        confirmations={**settings.confirmations, **needed},
        token_contracts={**settings.token_contracts, **(tokens or {})},
    )


def evm_watcher(
    settings: Settings,
    pool: asyncpg.Pool,
    chain: str = "ethereum",
    http: aiohttp.ClientSession | None = None,
    **options: Any,
) -> BlockFollower:
    """A follower over ``chain``'s node; with ``http`` the adapter shares that session, as in the app."""
    return BlockFollower(EvmAdapter.from_settings(CHAINS[chain], settings, http), settings, pool, **options)


async def accept_evm(api, company: dict[str, str], pool: asyncpg.Pool, chain: str, assets: list[str]) -> None:
    """Give the company the TPUB wallet on ``chain`` and allow ``assets``, at an index no other test used."""
    token = company["publicToken"]
    status, body = await api.call("PUT", f"/api/company/wallets/{chain}", token=token, json_body={"xpub": TPUB})
    assert status == 200, body
    allowed = {a: {"isAllowed": True} for a in assets}
    status, body = await api.call("PATCH", "/api/company/assets", token=token, json_body={"assets": allowed})
    assert status == 200, body
    await pool.execute(
        "UPDATE company_wallets SET next_index = $2 WHERE company_id = $1 AND chain = $3",
        uuid.UUID(company["id"]),
        _indexes.randrange(1_000, 2**31 - 10_000),
        chain,
    )


def due_units(view: dict[str, Any], decimals: int) -> int:
    units = Decimal(view["paymentDetails"]["amount"]).scaleb(decimals)
    assert units == units.to_integral_value()
    return int(units)


def address_of(view: dict[str, Any]) -> str:
    return view["address"]["address"]


async def status_of(api, invoice_id: str) -> str:
    status, view = await api.call("GET", f"/api/invoices/v1/regular/{invoice_id}")
    assert status == 200, view
    return view["status"]


async def deposits_of(pool: asyncpg.Pool, address: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT txid, output_index, asset, contract, amount_units, credited, reason, state, invoice_id"
        " FROM deposits WHERE address = $1 ORDER BY seen_at, output_index",
        address,
    )
