"""Billing invoice handlers under /api/invoices/v1/billing: drafts, finalize, void, mark uncollectible."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.jsonenc import json_response
from coinvoice.services import billing_invoices as service
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.billing_schemas import BillingInvoiceIn, BillingInvoicePatch, LineIn
from coinvoice.web.api.invoices import invoice_id_of
from coinvoice.web.api.schemas import parse, read_json

routes = web.RouteTableDef()
BASE = "/api/invoices/v1/billing"
#: wire field -> service field
FIELDS = {
    "customerId": "customer_id",
    "invoiceCurrency": "invoice_currency",
    "lineItems": "lines",
    "dueDate": "due_at",
    "daysUntilDue": "days_until_due",
    "metadata": "metadata",
    "notes": "notes",
    "isMerchantPaysFee": "merchant_pays_fee",
}


def _lines(lines: list[LineIn]) -> list[service.LineRequest]:
    return [service.LineRequest(line.priceId, line.name, line.price, line.quantity) for line in lines]


def _fields(body: BillingInvoiceIn | BillingInvoicePatch, sent: set[str]) -> dict[str, Any]:
    fields = {FIELDS[name]: getattr(body, name) for name in sent}
    if fields.get("lines") is not None:
        fields["lines"] = _lines(fields["lines"])
    return {k: v for k, v in fields.items() if v is not None or k in ("due_at", "days_until_due", "notes")}


def _id(request: web.Request) -> uuid.UUID:
    return invoice_id_of(request, "billing invoice")


@routes.post(BASE)
async def create(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(BillingInvoiceIn, await read_json(request))
    fields = _fields(body, set(type(body).model_fields))
    view = await service.create_draft(request.app[POOL], request.app[SETTINGS], company.id, fields)
    return json_response(view, status=201)


@routes.get(BASE + "/{invoice_id}")
async def get(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.get(request.app[POOL], request.app[SETTINGS], company.id, _id(request)))


@routes.patch(BASE + "/{invoice_id}")
async def patch(request: web.Request) -> web.Response:
    company = await require_company(request)
    invoice_id = _id(request)
    body = parse(BillingInvoicePatch, await read_json(request))
    fields = _fields(body, body.model_fields_set)
    view = await service.update_draft(request.app[POOL], request.app[SETTINGS], company.id, invoice_id, fields)
    return json_response(view)


@routes.delete(BASE + "/{invoice_id}")
async def delete(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.delete_draft(request.app[POOL], request.app[SETTINGS], company.id, _id(request)))


@routes.post(BASE + "/{invoice_id}/finalize")
async def finalize(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.finalize(request.app[POOL], request.app[SETTINGS], company.id, _id(request)))


@routes.post(BASE + "/{invoice_id}/void")
async def void(request: web.Request) -> web.Response:
    company = await require_company(request)
    view = await service.close(request.app[POOL], request.app[SETTINGS], company.id, _id(request), "void")
    return json_response(view)


@routes.post(BASE + "/{invoice_id}/mark-uncollectible")
async def mark_uncollectible(request: web.Request) -> web.Response:
    company = await require_company(request)
    view = await service.close(request.app[POOL], request.app[SETTINGS], company.id, _id(request), "mark_uncollectible")
    return json_response(view)


@routes.post(BASE + "/{invoice_id}/send")
async def send(request: web.Request) -> web.Response:
    company = await require_company(request)
    return json_response(await service.send(request.app[POOL], request.app[SETTINGS], company.id, _id(request)))
