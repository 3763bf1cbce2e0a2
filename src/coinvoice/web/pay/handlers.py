"""Payer page handlers: the page, its no-JavaScript form, the live status feed (SSE and JSON) and static files."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from coinvoice.appkeys import POOL, RATES, SETTINGS
from coinvoice.domain import brand
from coinvoice.domain.errors import Conflict, Invalid, NotFound, Unavailable
from coinvoice.domain.money import fmt
from coinvoice.services import invoices as invoices_service
from coinvoice.services.payer import payer_invoice
from coinvoice.web.pay.i18n import CODES, choose_language
from coinvoice.web.pay.model import PayPage, build_page, qr_code_cached, qr_code_svg, support_of, url_origin
from coinvoice.web.pay.render import (
    IMMUTABLE,
    StaticFile,
    html_response,
    load_static,
    make_templates,
    security_headers,
    static_response,
)

log = logging.getLogger(__name__)

UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: The page's templates, one environment per language.
TEMPLATES = web.AppKey("pay_templates", dict[str, jinja2.Environment])
STATIC = web.AppKey("pay_static", dict[str, StaticFile])
#: Seconds between database reads per open status stream (no tight loops on the database).
STREAM_POLL_SECONDS = web.AppKey("pay_stream_poll_seconds", float)
#: Set on shutdown so that open status streams end before the pool closes.
CLOSING = web.AppKey("pay_closing", asyncio.Event)
HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 30 * 60.0

routes = web.RouteTableDef()


def _invoice_id(request: web.Request) -> uuid.UUID:
    return uuid.UUID(request.match_info["invoice_id"])


async def _page(request: web.Request, invoice_id: uuid.UUID) -> PayPage:
    settings = request.app[SETTINGS]
    payer = await payer_invoice(request.app[POOL], settings, invoice_id)
    support = support_of(payer.support_url, payer.support_email)
    amounts = {}
    if payer.view["status"] == "created":  # each asset's amount in the picker (or the preset one's)
        preset = payer.view.get("invoiceContent", {}).get("paymentCurrency")
        codes = [preset] if preset else [c.code for c in payer.choices]
        amounts = await invoices_service.picker_amounts(
            request.app[POOL], settings, request.app[RATES], payer.view, codes
        )
    page = build_page(
        payer.view,
        payer.choices,
        settings,
        support=support,
        updated_at=payer.updated_at,
        amounts={code: fmt(amount) for code, amount in amounts.items()},
        brand_color=payer.brand_color,
    )
    payment = page.payment
    if payment is not None and not qr_code_cached(payment.uri, payment.qr_title):
        # 12-16 ms of pure Python: in a thread, so that the process's other requests are not held up meanwhile
        # (the GIL changes hands every few ms); the template then finds the code cached
        await asyncio.to_thread(qr_code_svg, payment.uri, payment.qr_title)
    return page


def _templates(request: web.Request) -> jinja2.Environment:
    """The payer's language: a language link's ?lang=, else the browser's Accept-Language."""
    lang = choose_language(request.query.get("lang"), request.headers.get("Accept-Language"))
    return request.app[TEMPLATES][lang]


def _lang_query(request: web.Request) -> str | None:
    """The language a link chose, kept in the form's action; None when the browser's languages decided."""
    lang = request.query.get("lang")
    return lang if lang in CODES else None


def _render_page(request: web.Request, page: PayPage, *, status: int = 200, **form: Any) -> web.Response:
    context = {"error": None, "email": "", "chosen": None, "lang_query": _lang_query(request), **form}
    return html_response(
        _templates(request), "page.html", status=status, img_origin=url_origin(page.logo_url), page=page, **context
    )


def _not_found(request: web.Request) -> web.Response:
    return html_response(_templates(request), "not_found.html", status=404)


@routes.get(f"/{{invoice_id:{UUID}}}")
async def pay_page(request: web.Request) -> web.Response:
    try:
        page = await _page(request, _invoice_id(request))
    except NotFound:
        return _not_found(request)
    return _render_page(request, page)


@routes.post(f"/{{invoice_id:{UUID}}}")
async def pay_form(request: web.Request) -> web.Response:
    """The no-JavaScript fill: the same service as the proceed endpoint, then Post/Redirect/Get."""
    invoice_id = _invoice_id(request)
    try:
        form = await request.post()
    except (ValueError, AssertionError, HttpProcessingError, web.HTTPException) as exc:  # a malformed form body
        log.info("unreadable payer form for %s: %s", invoice_id, exc)
        try:
            page = await _page(request, invoice_id)
        except NotFound:
            return _not_found(request)
        return _render_page(request, page, status=400, error="The form could not be read. Please try again.")
    email = str(form.get("email", "")).strip()
    chosen = str(form.get("asset", "")).strip().lower() or None
    try:
        await invoices_service.fill(
            request.app[POOL], request.app[SETTINGS], request.app[RATES], invoice_id, email, chosen
        )
    except NotFound:
        return _not_found(request)
    except (Invalid, Conflict, Unavailable) as exc:
        page = await _page(request, invoice_id)
        status = 409 if isinstance(exc, Conflict) else 503 if isinstance(exc, Unavailable) else 400
        return _render_page(request, page, status=status, error=_form_error(exc), email=email, chosen=chosen)
    lang = _lang_query(request)
    location = f"/{invoice_id}" + (f"?lang={lang}" if lang else "")
    headers = {**security_headers(), "Location": location, "Cache-Control": "no-store"}
    return web.Response(status=303, headers=headers)


def _form_error(exc: Invalid | Conflict | Unavailable) -> str:
    if exc.field == "clientEmail":
        return "Enter a valid email address, like name@example.com."
    if exc.code == "required":
        return "Choose how you want to pay."
    if isinstance(exc, Unavailable):
        return "This payment method is not available right now. Try again in a minute or choose another."
    return exc.message[:1].upper() + exc.message[1:] + "."


def _live_message(request: web.Request, page: PayPage) -> dict[str, Any]:
    html = (
        _templates(request)
        .get_template("state.html")
        .render(page=page, error=None, email="", chosen=None, lang_query=_lang_query(request))
    )
    return {"status": page.status, "version": page.version, "final": page.final, "html": html}


@routes.get(f"/{{invoice_id:{UUID}}}/status")
async def pay_status(request: web.Request) -> web.Response:
    """The polling fallback: the current state and its rendered fragment."""
    try:
        page = await _page(request, _invoice_id(request))
    except NotFound:
        return web.json_response({"error": {"code": "invoice_not_found"}}, status=404)
    response = web.json_response(_live_message(request, page), headers={"Cache-Control": "no-store"})
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@routes.get(f"/{{invoice_id:{UUID}}}/events")
async def pay_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one `state` event whenever what the page shows changes; ends at a final status."""
    invoice_id = _invoice_id(request)
    try:
        page = await _page(request, invoice_id)
    except NotFound:
        return web.Response(status=204)  # tells EventSource to stop reconnecting
    stream = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            "X-Content-Type-Options": "nosniff",
        }
    )
    await stream.prepare(request)
    closing = request.app[CLOSING]
    loop = asyncio.get_running_loop()
    started = last_write = loop.time()
    sent = request.headers.get("Last-Event-ID") or request.query.get("v")
    try:
        await stream.write(b"retry: 3000\n\n")
        while True:
            if page.version != sent:
                payload = json.dumps(_live_message(request, page), separators=(",", ":"))
                await stream.write(f"id: {page.version}\nevent: state\ndata: {payload}\n\n".encode())
                sent, last_write = page.version, loop.time()
            elif loop.time() - last_write >= HEARTBEAT_SECONDS:
                await stream.write(b": keep-alive\n\n")
                last_write = loop.time()
            if page.final or closing.is_set() or loop.time() - started > MAX_STREAM_SECONDS:
                break
            if request.transport is None or request.transport.is_closing():
                break
            try:
                await asyncio.wait_for(closing.wait(), request.app[STREAM_POLL_SECONDS])
                break
            except TimeoutError:
                pass
            page = await _page(request, invoice_id)
    except (ConnectionResetError, NotFound):
        pass
    return stream


@routes.get("/static/pay/{name}")
async def pay_static(request: web.Request) -> web.Response:
    return static_response(request, request.app[STATIC])


@routes.get("/static/brand/{color:[0-9a-f]{6}}.css")
async def brand_stylesheet(request: web.Request) -> web.Response:
    """pay.css followed by the merchant's brand colour as its custom properties, readable in light and dark mode:
    one stylesheet request, as without a brand. It depends on the colour (in the URL) and pay.css's version alone,
    so it needs no database read and is cached for good when the version is current."""
    css = request.app[STATIC]["pay.css"]
    versioned = request.query.get("v") == css.etag
    headers = {"Cache-Control": IMMUTABLE if versioned else "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    body = css.body + brand.stylesheet("#" + request.match_info["color"]).encode()
    response = web.Response(body=body, content_type="text/css", charset="utf-8", headers=headers)
    response.enable_compression()
    return response


@routes.get(r"/{path:(?!api/|static/).+}")
async def pay_not_found(request: web.Request) -> web.Response:
    """A malformed invoice link (a cut-off id, a typo) gets the page's own 404, not a plain-text one."""
    return _not_found(request)


async def _close_streams(app: web.Application) -> None:
    app[CLOSING].set()


def setup_pay(app: web.Application, *, stream_poll_seconds: float = 2.0) -> None:
    """Register the payer page on ``app``; add it after the API routes."""
    app[STATIC] = load_static()
    app[TEMPLATES] = make_templates(app[STATIC])
    app[STREAM_POLL_SECONDS] = stream_poll_seconds
    app[CLOSING] = asyncio.Event()
    app.on_shutdown.append(_close_streams)
    app.add_routes(routes)
