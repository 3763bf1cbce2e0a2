"""Any-amount invoice handlers under /api/invoices/v1/unlimited: create, read, close (merchant, Bearer token)."""

from __future__ import annotations

import uuid

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.jsonenc import json_response
from coinvoice.services import unlimited as service
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.billing_schemas import UnlimitedInvoiceIn
from coinvoice.web.api.invoices import invoice_id_of
from coinvoice.web.api.schemas import parse, read_json

routes = web.RouteTableDef()
BASE = "/api/invoices/v1/unlimited"


def _id(request: web.Request) -> uuid.UUID:
    return invoice_id_of(request, "any-amount invoice")


@routes.post(BASE)
async def create(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(UnlimitedInvoiceIn, await read_json(request))
    new = service.NewUnlimited(
        payment_currency=body.paymentCurrency,
        description=body.description,
        reference=body.reference,
        metadata=body.metadata,
        redirect_url=body.redirectURL,
    )
    return json_response(await service.create(request.app[POOL], request.app[SETTINGS], company, new), status=201)


@routes.get(BASE + "/{invoice_id}")
async def get(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.get(request.app[POOL], request.app[SETTINGS], company.id, _id(request)))


@routes.post(BASE + "/{invoice_id}/close")
async def close(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.close(request.app[POOL], request.app[SETTINGS], company.id, _id(request)))
