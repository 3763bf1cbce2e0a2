"""Company handlers: wallets (watch-only keys) and allowed assets."""

from __future__ import annotations

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.jsonenc import json_response
from coinvoice.services import companies as service
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.schemas import AssetsIn, WalletIn, parse, read_json

routes = web.RouteTableDef()


@routes.put("/api/company/wallets/{chain}")
async def put_wallet(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(WalletIn, await read_json(request))
    result = await service.set_wallet(
        request.app[POOL],
        request.app[SETTINGS],
        company.id,
        request.match_info["chain"],
        body.xpub.strip() if body.xpub is not None else None,
        address=body.address,
    )
    return json_response(result)


@routes.get("/api/company/wallets")
async def get_wallets(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.get_wallets(request.app[POOL], request.app[SETTINGS], company.id))


@routes.get("/api/company/assets")
async def get_assets(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.get_assets(request.app[POOL], company.id))


@routes.patch("/api/company/assets")
async def patch_assets(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(AssetsIn, await read_json(request))
    changes = {asset.lower(): setting.isAllowed for asset, setting in body.assets.items()}
    return json_response(await service.set_assets(request.app[POOL], company.id, changes))
