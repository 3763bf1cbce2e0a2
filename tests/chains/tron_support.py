"""Helpers for the TRON watcher tests: settings pointed at the stand-in, a TRX/USDT merchant over the API, payers."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg

from coinvoice.chains.follower import BlockFollower
from coinvoice.chains.tron.adapter import TronAdapter
from coinvoice.config import Settings
from coinvoice.domain.chains import CHAINS
from tests.support.tron_standin import TronStandin
from tests.support.tron_wallet import TronPayer

#: the mnemonic of tests/conftest.py's TPUB; the TRON wallet is its BIP44 account m/44'/195'/0'
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
TRON_XPUB = (
    "xpub6D1AabNHCupeiLM65ZR9UStMhJ1vCpyV4XbZdyhMZBiJXALQtmn9p42VTQckoHVn8WNqS7dqnJokZHAHcHGoaQgmv8D45oNUKx6DZMNZBCd"
)
USDT_DECIMALS = 6
TRX_DECIMALS = 6

_indexes = random.Random()


def with_trx_rate(settings: Settings) -> Settings:
    """``settings`` with a eur -> trx rate, kept out of TEST_ENV: rate tests need trx to stay unpriced there."""
    return replace(settings, fixed_rates={**settings.fixed_rates, ("eur", "trx"): Decimal("9.5")})


def tron_settings(
    settings: Settings,
    node: TronStandin,
    *,
    tokens: dict[str, str] | None = None,
    confirmations: int = 1,
    **chain_changes: Any,
) -> Settings:
    """Test settings with tron watched on the stand-in (no request limit) and trx/trc20usdt needing
    ``confirmations``."""
    chains = dict(settings.chains)
    changes = {"network": "testnet", "rpc_url": node.url, "max_requests_per_second": 0.0, **chain_changes}
    chains["tron"] = replace(settings.chain("tron"), **changes)
    return replace(
        settings,
        chains=chains,
        confirmations={**settings.confirmations, "trx": confirmations, "trc20usdt": confirmations},
        token_contracts={**settings.token_contracts, **(tokens or {})},
    )


def tron_watcher(
    settings: Settings, pool: asyncpg.Pool, session: aiohttp.ClientSession, **options: Any
) -> BlockFollower:
    return BlockFollower(TronAdapter.from_settings(CHAINS["tron"], settings, session), settings, pool, **options)


async def accept_tron(
    api, company: dict[str, str], pool: asyncpg.Pool, assets: tuple[str, ...] = ("trx", "usdt")
) -> int:
    """Give the company the TRON wallet and allow ``assets`` from a random index; the first index it will use."""
    token = company["publicToken"]
    status, body = await api.call("PUT", "/api/company/wallets/tron", token=token, json_body={"xpub": TRON_XPUB})
    assert status == 200, body
    allowed = {a: {"isAllowed": True} for a in assets}
    status, body = await api.call("PATCH", "/api/company/assets", token=token, json_body={"assets": allowed})
    assert status == 200, body
    start = _indexes.randrange(1_000, 2**31 - 10_000)
    await pool.execute(
        "UPDATE company_wallets SET next_index = $2 WHERE company_id = $1 AND chain = 'tron'",
        uuid.UUID(company["id"]),
        start,
    )
    return start


def funded_payer(node: TronStandin, *, sun: int = 10**12, tokens: dict[str, int] | None = None) -> TronPayer:
    """A fresh account holding ``sun`` TRX and the given token units (contract -> units)."""
    payer = TronPayer(node)
    node.fund(payer.address, sun)
    for contract, units in (tokens or {}).items():
        node.mint(contract, payer.address, units)
    return payer


async def deposits_of(pool: asyncpg.Pool, address: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT txid, output_index, asset, contract, amount_units, credited, reason, state, invoice_id, block_height"
        " FROM deposits WHERE address = $1 ORDER BY seen_at, output_index",
        address,
    )
