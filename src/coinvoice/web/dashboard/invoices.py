"""Invoice pages: the list (filters, search, cursor pages, live badges), one invoice, create, decide, redeliver."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from coinvoice.appkeys import INVOICE_INSERTS, POOL, SETTINGS
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.errors import Conflict, DomainError, Invalid, NotFound
from coinvoice.domain.invoice import Item, Status
from coinvoice.services import invoices as invoices_service
from coinvoice.services.companies import company_profile
from coinvoice.services.dashboard_users import DashboardUser
from coinvoice.services.decisions import decide
from coinvoice.services.deliveries import redeliver
from coinvoice.services.invoice_list import list_invoices
from coinvoice.services.merchant_views import invoice_statuses, merchant_invoice
from coinvoice.web.api.schemas import INVOICE_CURRENCIES, CreateRegularIn, parse
from coinvoice.web.dashboard.render import page, redirect
from coinvoice.web.dashboard.session import Form, action, signed_in

routes = web.RouteTableDef()
STATUSES = [s.value for s in Status]
PAGE_SIZE = 25
ITEM_ROWS = 5


def _day(raw: str, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("invalid_date", "dates look like 2026-01-31", field) from None


def _start(day: date | None, plus: int = 0) -> datetime | None:
    return None if day is None else datetime.combine(day + timedelta(days=plus), time(), tzinfo=UTC)


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("invoice_not_found", "no invoice with this id", "id") from None


@routes.get("/dashboard/invoices")
@signed_in
async def invoice_list(request: web.Request, user: DashboardUser) -> web.Response:
    q = request.query
    filters = {"status": q.get("status", ""), "from": q.get("from", ""), "to": q.get("to", ""), "q": q.get("q", "")}
    try:
        if filters["status"] and filters["status"] not in STATUSES:
            raise Invalid("invalid_status", "choose a status from the list", "status")
        result = await list_invoices(
            request.app[POOL],
            request.app[SETTINGS],
            user.company_id,
            statuses=[filters["status"]] if filters["status"] else None,
            created_from=_start(_day(filters["from"], "from")),
            created_to=_start(_day(filters["to"], "to"), plus=1),
            limit=PAGE_SIZE,
            cursor=q.get("cursor") or None,
            search=filters["q"],
        )
    except Invalid as exc:
        return page(
            request,
            "invoices.html",
            status=400,
            user=user,
            error=exc.message,
            filters=filters,
            statuses=STATUSES,
            invoices=[],
            next_query=None,
        )
    next_query = None
    if result["nextCursor"]:
        next_query = {**{k: v for k, v in filters.items() if v}, "cursor": result["nextCursor"]}
    return page(
        request,
        "invoices.html",
        user=user,
        filters=filters,
        statuses=STATUSES,
        invoices=result["items"],
        next_query=next_query,
    )


@routes.get("/dashboard/invoices/statuses")
@signed_in
async def statuses(request: web.Request, user: DashboardUser) -> web.Response:
    """The live badges' feed: the current status of the listed invoices (the page polls it)."""
    ids = []
    for raw in request.query.get("ids", "").split(",")[:100]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    result = await invoice_statuses(request.app[POOL], user.company_id, ids)
    return web.json_response(result, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _new_form(
    request: web.Request,
    user: DashboardUser,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> web.Response:
    values = values or {
        "currency": "eur",
        "items": [("", "")] * ITEM_ROWS,
        "payment": "",
        "redirect": "",
        "merchant_pays_fee": False,
    }
    return page(
        request,
        "invoice_new.html",
        status=status,
        user=user,
        error=error,
        values=values,
        currencies=INVOICE_CURRENCIES,
        payment_choices=[(a.code, a.label) for a in PAYMENT_ASSETS.values()],
    )


@routes.get("/dashboard/invoices/new")
@signed_in
async def new_invoice_form(request: web.Request, user: DashboardUser) -> web.Response:
    return _new_form(request, user)


@routes.post("/dashboard/invoices/new")
@action()
async def create_invoice(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    names, prices = form.getall("item_name", []), form.getall("item_price", [])
    rows = [(str(n).strip(), str(p).strip()) for n, p in zip(names, prices, strict=False)]
    values = {
        "currency": str(form.get("currency", "")),
        "items": rows + [("", "")] * max(0, ITEM_ROWS - len(rows)),
        "payment": str(form.get("payment_currency", "")),
        "redirect": str(form.get("redirect_url", "")),
        "merchant_pays_fee": form.get("merchant_pays_fee") == "on",
    }
    body = {
        "invoiceCurrency": values["currency"],
        "items": [{"name": n, "price": p} for n, p in rows if n or p],
        "isMerchantPaysFee": values["merchant_pays_fee"],
        "paymentCurrency": values["payment"] or None,
        "redirectURL": values["redirect"] or None,
    }
    try:
        parsed = parse(CreateRegularIn, body)  # the API's own rules
        company = await company_profile(request.app[POOL], user.company_id)
        new = invoices_service.NewInvoice(
            invoice_currency=parsed.invoiceCurrency,
            items=[Item(i.name, i.price) for i in parsed.items],
            merchant_pays_fee=parsed.isMerchantPaysFee,
            payment_currency=parsed.paymentCurrency,
            redirect_url=parsed.redirectURL,
        )
        app = request.app
        view, _ = await invoices_service.create_regular(
            app[POOL], app[SETTINGS], company, new, None, app[INVOICE_INSERTS]
        )
    except DomainError as exc:
        return _new_form(request, user, status=400, error=exc.message, values=values)
    return redirect(f"/dashboard/invoices/{view['id']}?created=1")


async def _detail(
    request: web.Request,
    user: DashboardUser,
    invoice_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> web.Response:
    detail = await merchant_invoice(request.app[POOL], request.app[SETTINGS], user.company_id, invoice_id)
    pay_url = f"{request.app[SETTINGS].public_url}/{invoice_id}"
    return page(
        request, "invoice.html", status=status, user=user, error=error, notice=notice, pay_url=pay_url, **detail
    )


@routes.get("/dashboard/invoices/{invoice_id}")
@signed_in
async def invoice_detail(request: web.Request, user: DashboardUser) -> web.Response:
    try:
        invoice_id = _uuid(request.match_info["invoice_id"])
        notice = "Invoice created. Send the payment link to your customer." if request.query.get("created") else None
        return await _detail(request, user, invoice_id, notice=notice)
    except NotFound:
        return page(request, "not_found.html", status=404, user=user)


@routes.post("/dashboard/invoices/{invoice_id}/decide")
@action()
async def decide_invoice(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    try:
        invoice_id = _uuid(request.match_info["invoice_id"])
        decision = str(form.get("decision", ""))
        if decision not in ("accept", "reject"):
            raise Invalid("invalid_decision", "decision must be accept or reject", "decision")
        try:
            await decide(request.app[POOL], request.app[SETTINGS], user.company_id, invoice_id, decision)
        except (Invalid, Conflict) as exc:
            return await _detail(request, user, invoice_id, status=409, error=exc.message)
    except NotFound:
        return page(request, "not_found.html", status=404, user=user)
    return redirect(f"/dashboard/invoices/{invoice_id}")


@routes.post("/dashboard/invoices/{invoice_id}/deliveries/{delivery_id}/redeliver")
@action()
async def redeliver_webhook(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    try:
        invoice_id = _uuid(request.match_info["invoice_id"])
        await redeliver(request.app[POOL], user.company_id, _uuid(request.match_info["delivery_id"]))
    except NotFound:
        return page(request, "not_found.html", status=404, user=user)
    return redirect(f"/dashboard/invoices/{invoice_id}?redelivered=1#webhooks")
