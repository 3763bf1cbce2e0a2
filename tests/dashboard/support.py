"""A signed-in dashboard client over real HTTP: a cookie jar, forms posted with the page's CSRF token."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from typing import Any

import aiohttp
import pytest

from coinvoice.services.dashboard_users import create_user
from tests.pay.gateway import Gateway, StartGateway

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has a form with a CSRF token"
    return unescape(match.group(1))


@dataclass
class Browserless:
    """One person's cookies against the gateway (aiohttp keeps cookies for 127.0.0.1 only when unsafe=True)."""

    gw: Gateway
    session: aiohttp.ClientSession
    last_html: str = ""

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.gw.base + path, allow_redirects=True) as resp:
            self.last_html = await resp.text()
            return resp.status, self.last_html

    async def post(
        self,
        path: str,
        data: dict[str, Any] | list[tuple[str, str]],
        *,
        csrf: str | None = "page",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf == "page":
            csrf = csrf_of(self.last_html)
        if csrf is not None:
            fields.append(("csrf", csrf))
        async with self.session.post(self.gw.base + path, data=fields, headers=headers, allow_redirects=True) as resp:
            self.last_html = await resp.text()
            return resp.status, self.last_html

    async def sign_in(self, email: str, password: str = PASSWORD, headers: dict[str, str] | None = None) -> int:
        await self.get("/dashboard/sign-in")
        status, _ = await self.post("/dashboard/sign-in", {"email": email, "password": password}, headers=headers)
        return status

    def cookie(self, name: str) -> Any:
        return next((c for c in self.session.cookie_jar if c.key == name), None)


@pytest.fixture
async def clients() -> AsyncIterator[Any]:
    sessions: list[aiohttp.ClientSession] = []

    def make(gw: Gateway) -> Browserless:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(session)
        return Browserless(gw, session)

    yield make
    for session in sessions:
        await session.close()


async def add_user(gw: Gateway, role: str = "owner", email: str | None = None, company_id: str | None = None) -> str:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@shop.example"
    await create_user(gw.pool, uuid.UUID(company_id or gw.company["id"]), email, role, PASSWORD)
    return email


@pytest.fixture
async def dash(start_gateway: StartGateway) -> Gateway:
    return await start_gateway()
