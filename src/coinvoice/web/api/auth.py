"""Bearer-token authentication of merchant requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from coinvoice.appkeys import COMPANIES
from coinvoice.db.companies import CompanyProfile
from coinvoice.services.tokens import token_hash
from coinvoice.web.api.errors import Unauthorized


async def require_company(request: web.Request) -> CompanyProfile:
    """The company whose public token authorises this request, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("unauthorized", "send 'Authorization: Bearer <public token>'", "Authorization")
    token = token.strip()
    if not token.isascii() or not token.isprintable():
        raise Unauthorized("unauthorized", "the token is unknown or revoked", "Authorization")
    company = await request.app[COMPANIES].company_for_token(token_hash(token))
    if company is None:
        raise Unauthorized("unauthorized", "the token is unknown or revoked", "Authorization")
    return company


@web.middleware
async def company_writes_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Read-your-writes for company settings in this process: after any change under /api/company/ the
    profile cache is dropped at once (other processes drop theirs on the NOTIFY the change sends)."""
    try:
        return await handler(request)
    finally:
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.path.startswith("/api/company/"):
            request.app[COMPANIES].clear()
