"""Fixtures for the rate tests: provider stand-ins on 127.0.0.1, settings using them, a refresher, a gateway."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from bip_utils import Bip32Slip10Secp256k1, Bip39SeedGenerator

from coinvoice.app import create_app
from coinvoice.appkeys import RATE_METRICS, RATES
from coinvoice.config import Settings, load_settings
from coinvoice.netfees.registry import fee_estimators
from coinvoice.rates.metrics import RateMetrics
from coinvoice.rates.providers import network_providers
from coinvoice.rates.refresh import RateRefresher
from coinvoice.rates.service import RateService
from coinvoice.services.companies import create_company, set_assets, set_wallet
from tests.conftest import TEST_ENV, TPUB, Api
from tests.support.rate_standins import StandIns

ALL_FOUR = "kraken,binance,coinbase,coingecko"
CREATE = "/api/invoices/v1/regular"


@pytest.fixture
async def standins() -> AsyncIterator[StandIns]:
    stand_ins = StandIns()
    await stand_ins.start()
    yield stand_ins
    await stand_ins.stop()


@pytest.fixture
def market_env(standins: StandIns, tmp_path) -> dict[str, str]:
    """The test environment with the four network providers at their stand-ins (and no fixed rates)."""
    return {
        **TEST_ENV,
        "COINVOICE_DATA_DIR": str(tmp_path),
        "COINVOICE_RATES_PROVIDERS": ALL_FOUR,
        "COINVOICE_RATES_TIMEOUT_SECONDS": "2",  # short, yet a stand-in answers in time on a busy machine
        **standins.env(),
    }


@pytest.fixture
def market_settings(market_env: dict[str, str]) -> Settings:
    return load_settings(market_env)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_refresher(
    settings: Settings,
    pool: asyncpg.Pool,
    http: aiohttp.ClientSession,
    service: RateService,
    metrics: RateMetrics | None = None,
) -> RateRefresher:
    return RateRefresher(
        settings, pool, http, service, network_providers(settings), fee_estimators(settings, http), metrics
    )


@dataclass
class Gateway:
    """A gateway (API role) quoting from the rate cache, its refresher, and a merchant accepting ltc, trx, usdt."""

    api: Api
    app: web.Application
    refresher: RateRefresher
    company: dict[str, str]

    async def refresh(self) -> None:
        await self.refresher.run()

    async def invoice(self, currency: str = "eur", price: str = "100", **changes: Any) -> dict[str, Any]:
        body = {"invoiceCurrency": currency, "items": [{"name": "Coffee", "price": price}], **changes}
        status, view = await self.api.call("POST", CREATE, token=self.company["publicToken"], json_body=body)
        assert status == 201, view
        return view

    async def fill(self, invoice_id: str, currency: str = "ltc") -> tuple[int, Any]:
        body = {"clientEmail": "payer@example.com", "paymentCurrency": currency}
        return await self.api.call("POST", f"{CREATE}/{invoice_id}/proceed", json_body=body)


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start_gateway(
    market_env: dict[str, str], db_url: str, pool: asyncpg.Pool, http: aiohttp.ClientSession
) -> AsyncIterator[StartGateway]:
    """Start an API-role gateway with extra variables; its refresher runs only when the test says so."""
    servers: list[TestServer] = []
    refreshers: list[RateRefresher] = []
    async with aiohttp.ClientSession() as session:

        async def start(**env: str) -> Gateway:
            settings = load_settings({**market_env, **env})
            app = create_app(settings, dsn=db_url, role="api")
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            servers.append(server)
            refresher = make_refresher(settings, pool, http, app[RATES], app[RATE_METRICS])
            refreshers.append(refresher)
            company = await create_company(pool, settings, "Rates & Co", None, None)
            company_id = uuid.UUID(company["id"])
            for chain in ("litecoin", "tron", "ethereum"):
                await set_wallet(
                    pool, settings, company_id, chain, TPUB if chain == "litecoin" else tron_or_eth_xpub(chain)
                )
            await set_assets(pool, company_id, {"ltc": True, "trx": True, "usdt": True})
            return Gateway(Api(server, session), app, refresher, company)

        yield start
        for refresher in refreshers:
            await refresher.close()
        for server in servers:
            await server.close()


@cache
def tron_or_eth_xpub(chain: str) -> str:
    """An account-level BIP44 xpub of the test mnemonic (abandon x11 about) for ethereum or tron."""
    seed = Bip39SeedGenerator("abandon " * 11 + "about").Generate()
    coin = {"ethereum": 60, "tron": 195}[chain]
    return Bip32Slip10Secp256k1.FromSeedAndPath(seed, f"m/44'/{coin}'/0'").PublicKey().ToExtended()
