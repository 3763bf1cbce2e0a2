"""GET /api/rates?from=eur&to=ltc: the current rate for shops, from the rate cache, without a token."""

from __future__ import annotations

from aiohttp import web

from coinvoice.appkeys import POOL, RATES, SETTINGS
from coinvoice.jsonenc import json_response
from coinvoice.services import rates as service

routes = web.RouteTableDef()


@routes.get("/api/rates")
async def get_rate(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    view = await service.rate_view(
        request.app[POOL], settings, request.app[RATES], request.query.get("from"), request.query.get("to")
    )
    max_age = max(1, min(60, int(settings.rates_refresh_seconds)))
    return json_response(view, headers={"Cache-Control": f"public, max-age={max_age}"})
