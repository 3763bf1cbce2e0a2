"""A gateway with the payer page over real HTTP, a merchant that accepts ltc and btc, and state-driving helpers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.config import Settings
from coinvoice.services.companies import create_company, set_assets, set_wallet
from coinvoice.web.pay.handlers import STREAM_POLL_SECONDS
from tests.conftest import TPUB, Api

CREATE = "/api/invoices/v1/regular"
LOGO_URL = "https://shop.example/logo.png"
REDIRECT_URL = "https://shop.example/thanks"
#: Test streams read the database twice a second (production: every 2 s) to keep the tests short.
TEST_STREAM_POLL_SECONDS = 0.5


@dataclass
class Gateway:
    api: Api
    pool: asyncpg.Pool
    company: dict[str, str]
    app: Any

    @property
    def base(self) -> str:
        return self.api.base

    async def create_invoice(self, **changes: Any) -> dict[str, Any]:
        body = {
            "invoiceCurrency": "eur",
            "items": [{"name": "Coffee", "price": "10.99"}, {"name": "Cake", "price": "3.01"}],
            "redirectURL": REDIRECT_URL,
            **changes,
        }
        status, view = await self.api.call("POST", CREATE, token=self.company["publicToken"], json_body=body)
        assert status == 201, view
        return view

    async def fill(self, invoice_id: str, currency: str | None = "ltc") -> dict[str, Any]:
        body = {"clientEmail": "payer@example.com", "paymentCurrency": currency}
        status, view = await self.api.call("POST", f"{CREATE}/{invoice_id}/proceed", json_body=body)
        assert status == 200, view
        return view

    async def view(self, invoice_id: str) -> dict[str, Any]:
        status, view = await self.api.call("GET", f"{CREATE}/{invoice_id}")
        assert status == 200, view
        return view

    async def add_deposit(self, invoice_id: str, units: int, confirmations: int, status: str) -> None:
        """Record a deposit and move the status as the chain watcher would (SQL, no node)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO deposits (id, invoice_id, address_id, company_id, address, chain, txid, output_index, asset,"
                " amount_units, confirmations, state)"
                " SELECT $1, a.invoice_id, a.id, a.company_id, a.address, a.chain, $2, 0, 'ltc', $3, $4, $5"
                " FROM addresses a"
                " WHERE a.invoice_id = $6",
                uuid.uuid4(),
                uuid.uuid4().hex * 2,
                units,
                confirmations,
                "confirmed" if confirmations else "seen",
                uuid.UUID(invoice_id),
            )
            await self.set_status(invoice_id, status, conn)

    async def confirm_all(self, invoice_id: str, confirmations: int, status: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE deposits SET confirmations = $2, state = 'confirmed', updated_at = now() WHERE invoice_id = $1",
                uuid.UUID(invoice_id),
                confirmations,
            )
            await self.set_status(invoice_id, status, conn)

    async def set_status(self, invoice_id: str, status: str, conn: Any = None) -> None:
        await (conn or self.pool).execute(
            "UPDATE invoices SET status = $2, updated_at = now(),"
            " expires_at = CASE WHEN $2 = 'expired' THEN now() - interval '1 second' ELSE expires_at END"
            " WHERE id = $1",
            uuid.UUID(invoice_id),
            status,
        )


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start_gateway(settings: Settings, db_url: str, pool: asyncpg.Pool) -> AsyncIterator[StartGateway]:
    """Start the app (role api unless told) with the payer page; stop everything at teardown."""
    servers: list[TestServer] = []
    async with aiohttp.ClientSession() as session:

        async def start(role: str = "api", **setting_changes: Any) -> Gateway:
            app_settings = replace(settings, **setting_changes)
            app = create_app(app_settings, dsn=db_url, role=role)
            app[STREAM_POLL_SECONDS] = TEST_STREAM_POLL_SECONDS
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            servers.append(server)
            company = await create_company(pool, app_settings, "Coffee & Co <b>", LOGO_URL, REDIRECT_URL)
            company_id = uuid.UUID(company["id"])
            await set_wallet(pool, app_settings, company_id, "litecoin", TPUB)
            await set_wallet(pool, app_settings, company_id, "bitcoin", TPUB)
            await set_assets(pool, company_id, {"ltc": True, "btc": True})
            return Gateway(Api(server, session), pool, company, app)

        yield start
        for server in servers:
            await server.close()


@pytest.fixture
async def gateway(start_gateway: StartGateway) -> Gateway:
    return await start_gateway()
