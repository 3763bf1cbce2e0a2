"""Invoice handlers: create (merchant), proceed and read (payer, no auth)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from coinvoice.appkeys import INVOICE_INSERTS, POOL, RATES, SETTINGS
from coinvoice.domain.errors import Invalid
from coinvoice.domain.invoice import Item
from coinvoice.jsonenc import json_response
from coinvoice.logcontext import INVOICE_ID
from coinvoice.services import invoices as service
from coinvoice.web.api.account_schemas import uuid_or_404
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.schemas import CreateRegularIn, ProceedIn, parse, read_json

routes = web.RouteTableDef()


def payer_view(view: dict[str, Any]) -> dict[str, Any]:
    """What a reader who knows only the invoice id may see: everything but the payer's email address (the id
    travels in links, browser history and referrers; the merchant reads the email in its invoice list and in
    webhooks)."""
    return {k: v for k, v in view.items() if k != "clientEmail"}


def invoice_id_of(request: web.Request, what: str = "invoice") -> uuid.UUID:
    """The path's invoice id (404 ``invoice_not_found`` naming ``what`` otherwise), also set on the log context."""
    invoice_id = uuid_or_404(request.match_info["invoice_id"], "invoice_not_found", what, "id")
    assert invoice_id is not None
    INVOICE_ID.set(str(invoice_id))
    return invoice_id


@routes.post("/api/invoices/v1/regular")
async def create_regular(request: web.Request) -> web.Response:
    company = await require_company(request)
    body = parse(CreateRegularIn, await read_json(request))
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
        raise Invalid(
            "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters", "Idempotency-Key"
        )
    new = service.NewInvoice(
        invoice_currency=body.invoiceCurrency,
        items=[Item(i.name, i.price) for i in body.items],
        merchant_pays_fee=body.isMerchantPaysFee,
        payment_currency=body.paymentCurrency,
        redirect_url=body.redirectURL,
    )
    app = request.app
    view, replayed = await service.create_regular(app[POOL], app[SETTINGS], company, new, key, app[INVOICE_INSERTS])
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return json_response(view, status=200 if replayed else 201, headers=headers)


@routes.get("/api/invoices/v1/regular/{invoice_id}")
async def get_regular(request: web.Request) -> web.Response:
    view = await service.get_view(request.app[POOL], request.app[SETTINGS], invoice_id_of(request))
    return json_response(payer_view(view))


@routes.post("/api/invoices/v1/regular/{invoice_id}/proceed")
async def proceed(request: web.Request) -> web.Response:
    invoice_id = invoice_id_of(request)
    body = parse(ProceedIn, await read_json(request))
    view = await service.fill(
        request.app[POOL],
        request.app[SETTINGS],
        request.app[RATES],
        invoice_id,
        body.clientEmail.strip(),
        body.paymentCurrency.lower() if body.paymentCurrency else None,
    )
    return json_response(payer_view(view))
