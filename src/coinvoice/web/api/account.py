"""Merchant account handlers: settings, webhook URL, underpayment limits, key rotation, webhook deliveries."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.jsonenc import json_response
from coinvoice.services import account as service
from coinvoice.services import deliveries
from coinvoice.web.api.account_schemas import LimitsIn, RotateIn, SettingsIn, WebhookUrlIn, query_int, uuid_or_404
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.schemas import parse, read_json

routes = web.RouteTableDef()


@routes.get("/api/company/settings")
async def get_settings(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.get_settings(request.app[POOL], company.id))


@routes.patch("/api/company/settings")
async def patch_settings(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(SettingsIn, await read_json(request))
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return json_response(await service.update_settings(request.app[POOL], company.id, changes))


@routes.get("/api/company/settings/webhook-url")
async def get_webhook_url(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.get_webhook_url(request.app[POOL], company.id))


@routes.put("/api/company/settings/webhook-url")
async def put_webhook_url(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(WebhookUrlIn, await read_json(request))
    result = await service.set_webhook_url(request.app[POOL], request.app[SETTINGS], company.id, body.webHookUrl)
    return json_response(result)


@routes.get("/api/company/underpayment-limits")
async def get_limits(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.get_underpayment_limits(request.app[POOL], company.id))


@routes.patch("/api/company/underpayment-limits")
async def patch_limits(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(LimitsIn, await read_json(request))
    changes = {asset.lower(): (limit.static, limit.percentage) for asset, limit in body.assets.items()}
    return json_response(await service.set_underpayment_limits(request.app[POOL], company.id, changes))


@routes.post("/api/company/secret-key/rotate")
async def rotate_secret_key(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(RotateIn, await read_json(request, empty={}))
    grace = None if body.gracePeriodSeconds is None else timedelta(seconds=body.gracePeriodSeconds)
    return json_response(
        await service.rotate_secret_key(request.app[POOL], request.app[SETTINGS], company.id, grace), status=201
    )


@routes.get("/api/webhooks/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    company = await require_company(request)
    q = request.query
    result = await deliveries.list_deliveries(
        request.app[POOL],
        company.id,
        state=q.get("state"),
        invoice_id=uuid_or_404(q.get("invoiceId"), "invoice_not_found", "invoice", "invoiceId"),
        limit=query_int(q, "limit", 20),
        cursor=q.get("cursor"),
    )
    return json_response(result)


@routes.post("/api/webhooks/deliveries/{delivery_id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    company = await require_company(request)
    delivery_id = uuid_or_404(request.match_info["delivery_id"], "delivery_not_found", "webhook delivery", "id")
    assert delivery_id is not None
    return json_response(await deliveries.redeliver(request.app[POOL], company.id, delivery_id), status=202)
