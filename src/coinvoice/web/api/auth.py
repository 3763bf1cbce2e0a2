"""Bearer-token authentication of merchant requests."""

from __future__ import annotations

from aiohttp import web

from coinvoice.db.companies import CompanyProfile
from coinvoice.services.tokens import token_hash
from coinvoice.web.api.errors import Unauthorized
from coinvoice.web.keys import COMPANIES


async def require_company(request: web.Request) -> CompanyProfile:
    """The company whose public token authorises this request, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("unauthorized", "send 'Authorization: Bearer <public token>'", "Authorization")
    company = await request.app[COMPANIES].company_for_token(token_hash(token.strip()))
    if company is None:
        raise Unauthorized("unauthorized", "the token is unknown or revoked", "Authorization")
    return company
