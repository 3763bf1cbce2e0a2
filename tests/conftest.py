"""Shared fixtures: a real PostgreSQL per test (template copy), settings, and the app over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.config import Settings, load_settings
from coinvoice.db.pool import create_pool
from coinvoice.services.companies import create_company
from tests.support import database
from tests.support.openapi_check import check_answer

pytest_plugins = [
    "tests.support.node_fixtures",
    "tests.chains.evm_fixtures",
    "tests.chains.shared_fixtures",
    "tests.chains.tron_fixtures",
]

TEST_ENV = {
    "COINVOICE_MASTER_KEY": "test-master-key",
    "COINVOICE_FIXED_RATES": json.dumps(
        {
            "eur/ltc": "0.0125",
            "usd/ltc": "0.0111",
            "usd/btc": "0.00001",
            "eur/usdt": "1.08",
            "usd/usdt": "1",
            "eur/eth": "0.0004",
            "eur/bnb": "0.002",
            "eur/sol": "0.0061",
            "eur/ton": "0.19",
        }
    ),
    "COINVOICE_BTC_NETWORK": "regtest",
    "COINVOICE_LTC_NETWORK": "regtest",
    "COINVOICE_BCH_NETWORK": "regtest",
    "COINVOICE_ETH_NETWORK": "regtest",
    "COINVOICE_BSC_NETWORK": "regtest",
    "COINVOICE_TRON_NETWORK": "testnet",
    "COINVOICE_SOL_NETWORK": "regtest",
    "COINVOICE_TON_NETWORK": "testnet",
    "COINVOICE_CONFIRMATIONS": json.dumps({"ltc": 1, "btc": 1, "bch": 1}),
    "COINVOICE_WEBHOOK_ALLOW_PRIVATE": "true",
}

#: BIP84 test mnemonic ("abandon" x11 "about"), account m/84'/1'/0'.
TPUB = "tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M"


@pytest.fixture(scope="session")
def pg_url() -> str:
    return database.server_url()


@pytest.fixture(scope="session")
async def pg_template(pg_url: str) -> AsyncIterator[str]:
    name = await database.create_template(pg_url)
    yield name
    await database.drop_database(pg_url, name)


@pytest.fixture
async def db_url(pg_url: str, pg_template: str) -> AsyncIterator[str]:
    name = await database.create_from_template(pg_url, pg_template)
    yield database.with_database(pg_url, name)
    await database.drop_database(pg_url, name)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load_settings({**TEST_ENV, "COINVOICE_DATA_DIR": str(tmp_path)})


@pytest.fixture
async def pool(db_url: str):
    pool = await create_pool(db_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


class Api:
    """A small client for the gateway under test: real HTTP on 127.0.0.1."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession):
        self.server = server
        self.session = session
        self.base = str(server.make_url("")).rstrip("/")
        self.check_answers = True  # every JSON success answer must match its schema in /api/openapi.json

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        raw: bytes | None = None,
        headers: dict | None = None,
    ) -> tuple[int, Any]:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(json_body) if json_body is not None else None)
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.base + path, data=data, headers=hdrs) as resp:
            text = await resp.text()
            try:
                body = json.loads(text, parse_float=Decimal) if text else None
            except ValueError:
                body = text
            if self.check_answers and resp.content_type == "application/json" and text:
                check_answer(method, path, resp.status, json.loads(text))
            return resp.status, body


@pytest.fixture
def make_settings(settings: Settings) -> Callable[..., Settings]:
    def make(**changes: Any) -> Settings:
        return replace(settings, **changes)

    return make


@pytest.fixture
async def api(settings: Settings, db_url: str) -> AsyncIterator[Api]:
    app = create_app(settings, dsn=db_url, role="api")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Api(server, session)
    await server.close()


@pytest.fixture
async def company(api: Api, settings: Settings, db_url: str) -> dict[str, str]:
    pool = await create_pool(db_url, min_size=1, max_size=1)
    try:
        return await create_company(
            pool, settings, "Coffee & Co <b>", "https://shop.example/logo.png", "https://shop.example/done"
        )
    finally:
        await pool.close()
