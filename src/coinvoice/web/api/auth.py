"""Bearer-token authentication of merchant requests."""

from __future__ import annotations

from aiohttp import web

from coinvoice.db.companies import CompanyRef, company_for_token
from coinvoice.services.tokens import token_hash
from coinvoice.web.api.errors import Unauthorized
from coinvoice.web.keys import POOL


async def require_company(request: web.Request) -> CompanyRef:
    """The company whose public token authorises this request, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("unauthorized", "send 'Authorization: Bearer <public token>'", "Authorization")
    company = await company_for_token(request.app[POOL], token_hash(token.strip()))
    if company is None:
        raise Unauthorized("unauthorized", "the token is unknown or revoked", "Authorization")
    return company
