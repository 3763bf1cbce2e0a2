"""Merchant invoice handlers: the invoice and deposit lists, accept / reject decisions, and accepting or
dismissing a deposit not credited."""

from __future__ import annotations

import uuid

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.domain.chains import CHAINS
from coinvoice.domain.errors import Invalid
from coinvoice.domain.invoice import Status
from coinvoice.jsonenc import json_response
from coinvoice.services.decisions import accept_deposit, decide, dismiss_deposit
from coinvoice.services.deposit_list import list_deposits
from coinvoice.services.invoice_list import list_invoices
from coinvoice.web.api.account_schemas import AcceptDepositIn, query_int, query_time, uuid_or_404
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.invoices import invoice_id_of
from coinvoice.web.api.schemas import parse, read_json

routes = web.RouteTableDef()
STATUSES = tuple(s.value for s in Status)


def _statuses(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    statuses = [s.strip().lower() for s in raw.split(",") if s.strip()]
    for status in statuses:
        if status not in STATUSES:
            raise Invalid("invalid_status", f"status must be among {', '.join(STATUSES)}", "status")
    return statuses or None


@routes.get("/api/invoices/v1")
async def get_invoices(request: web.Request) -> web.Response:
    company = await require_company(request)
    q = request.query
    page = await list_invoices(
        request.app[POOL],
        request.app[SETTINGS],
        company.id,
        statuses=_statuses(q.get("status")),
        created_from=query_time(q, "createdFrom"),
        created_to=query_time(q, "createdTo"),
        limit=query_int(q, "limit", 20),
        cursor=q.get("cursor"),
    )
    return json_response(page)


def _credited(raw: str | None) -> bool | None:
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise Invalid("invalid_boolean", "credited must be true or false", "credited")
    return raw.lower() == "true"


def _chain(raw: str | None) -> str | None:
    if raw is not None and raw not in CHAINS:
        raise Invalid("unknown_chain", f"chain must be one of {', '.join(CHAINS)}", "chain")
    return raw


@routes.get("/api/company/deposits")
async def get_deposits(request: web.Request) -> web.Response:
    company = await require_company(request)
    q = request.query
    page = await list_deposits(
        request.app[POOL],
        request.app[SETTINGS],
        company.id,
        credited=_credited(q.get("credited")),
        chain=_chain(q.get("chain")),
        invoice_id=uuid_or_404(q.get("invoiceId"), "invoice_not_found", "invoice", "invoiceId"),
        limit=query_int(q, "limit", 20),
        cursor=q.get("cursor"),
    )
    return json_response(page)


@routes.post("/api/invoices/v1/regular/{invoice_id}/accept")
async def accept(request: web.Request) -> web.Response:
    company = await require_company(request)
    view = await decide(request.app[POOL], request.app[SETTINGS], company.id, invoice_id_of(request), "accept")
    return json_response(view)


@routes.post("/api/invoices/v1/regular/{invoice_id}/reject")
async def reject(request: web.Request) -> web.Response:
    company = await require_company(request)
    view = await decide(request.app[POOL], request.app[SETTINGS], company.id, invoice_id_of(request), "reject")
    return json_response(view)


def _deposit_id(request: web.Request) -> uuid.UUID:
    deposit_id = uuid_or_404(request.match_info["deposit_id"], "deposit_not_found", "deposit", "id")
    assert deposit_id is not None
    return deposit_id


@routes.post("/api/company/deposits/{deposit_id}/accept")
async def accept_deposit_into_invoice(request: web.Request) -> web.Response:
    company = await require_company(request)
    deposit_id = _deposit_id(request)
    body = parse(AcceptDepositIn, await read_json(request))
    invoice_id = uuid_or_404(body.invoiceId, "invoice_not_found", "invoice", "invoiceId")
    assert invoice_id is not None
    result = await accept_deposit(request.app[POOL], request.app[SETTINGS], company.id, deposit_id, invoice_id)
    return json_response(result)


@routes.post("/api/company/deposits/{deposit_id}/dismiss")
async def dismiss_deposit_not_credited(request: web.Request) -> web.Response:
    company = await require_company(request)
    deposit_id = _deposit_id(request)
    result = await dismiss_deposit(request.app[POOL], request.app[SETTINGS], company.id, deposit_id)
    return json_response(result)
