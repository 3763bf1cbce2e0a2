"""The payer page over plain HTTP: routing, security headers, the no-JavaScript form, static caching."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections import OrderedDict

import aiohttp
import segno

from coinvoice.web.pay import model as pay_model
from tests.pay.gateway import Gateway


async def get(gw: Gateway, path: str, **kw) -> tuple[aiohttp.ClientResponse, str]:
    async with gw.api.session.get(gw.base + path, allow_redirects=False, **kw) as resp:
        return resp, await resp.text()


async def test_page_of_a_created_invoice_shows_items_and_sends_strict_security_headers(gateway):
    inv = await gateway.create_invoice()
    resp, html = await get(gateway, f"/{inv['id']}")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp and "img-src 'self' data: https://shop.example;" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "Coffee &amp; Co &lt;b&gt;" in html
    assert '<span id="total">14.00 EUR</span>' in html
    assert '<script src="/static/pay/pay.js?v=' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline script"
    assert 'value="ltc"' in html and 'value="btc"' in html


async def test_unknown_invoice_is_an_html_404_and_api_and_healthz_are_not_shadowed(gateway):
    resp, html = await get(gateway, f"/{uuid.uuid4()}")
    assert resp.status == 404 and "Invoice not found" in html
    assert resp.headers["X-Frame-Options"] == "DENY"
    resp, _ = await get(gateway, "/healthz")
    assert resp.status == 200
    resp, html = await get(gateway, "/not-an-invoice")
    assert resp.status == 404 and "Invoice not found" in html
    resp, body = await get(gateway, f"/api/invoices/v1/regular/{uuid.uuid4()}")
    assert resp.status == 404 and "invoice_not_found" in body


async def test_form_post_fills_the_invoice_and_redirects_back(gateway):
    inv = await gateway.create_invoice()
    data = {"email": "payer@example.com", "asset": "ltc"}
    async with gateway.api.session.post(f"{gateway.base}/{inv['id']}", data=data, allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == f"/{inv['id']}"
        assert resp.headers["X-Frame-Options"] == "DENY"
    view = await gateway.view(inv["id"])
    assert view["status"] == "pending" and view["invoiceContent"]["paymentCurrency"] == "ltc"
    resp, html = await get(gateway, f"/{inv['id']}")
    assert view["address"]["address"] in html
    assert view["paymentDetails"]["amount"] in html
    assert "<svg" in html and "litecoin:" + view["address"]["address"] in html


async def test_form_post_with_a_bad_email_shows_the_error_in_the_page(gateway):
    inv = await gateway.create_invoice()
    data = {"email": "a@b", "asset": "ltc"}
    async with gateway.api.session.post(f"{gateway.base}/{inv['id']}", data=data, allow_redirects=False) as resp:
        html = await resp.text()
        assert resp.status == 400
        assert resp.headers["Content-Security-Policy"]
    assert 'role="alert"' in html and "valid email" in html
    assert 'value="a@b"' in html
    assert (await gateway.view(inv["id"]))["status"] == "created"


async def test_form_post_without_an_asset_asks_for_one(gateway):
    inv = await gateway.create_invoice()
    async with gateway.api.session.post(f"{gateway.base}/{inv['id']}", data={"email": "p@example.com"}) as resp:
        assert resp.status == 400
        assert "Choose how you want to pay" in await resp.text()


async def test_static_files_are_cached_and_revalidated(gateway):
    inv = await gateway.create_invoice()
    _, html = await get(gateway, f"/{inv['id']}")
    css = re.search(r'href="(/static/pay/pay\.css\?v=\w+)"', html).group(1)
    resp, body = await get(gateway, css)
    assert resp.status == 200 and resp.content_type == "text/css" and ".card" in body
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    resp, _ = await get(gateway, css, headers={"If-None-Match": resp.headers["ETag"]})
    assert resp.status == 304
    resp, _ = await get(gateway, "/static/pay/nope.js")
    assert resp.status == 404


async def test_status_feed_reports_the_state_and_its_html(gateway):
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    status, body = await gateway.api.call("GET", f"/{inv['id']}/status")
    assert status == 200
    assert body["status"] == "pending" and body["final"] is False and "address" in body["html"]
    await gateway.set_status(inv["id"], "expired")
    status, body = await gateway.api.call("GET", f"/{inv['id']}/status")
    assert body["status"] == "expired" and body["final"] is True and "has expired" in body["html"]


async def test_event_stream_sends_the_current_state_then_ends_at_a_final_status(gateway):
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    await gateway.set_status(inv["id"], "expired")
    async with gateway.api.session.get(f"{gateway.base}/{inv['id']}/events") as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        text = await resp.text()  # returns only because the stream ends at the final status
    assert "event: state" in text and '"status":"expired"' in text


async def test_form_post_without_a_rate_says_the_method_is_unavailable(gateway):
    inv = await gateway.create_invoice()  # eur: the test rates have no eur/btc
    data = {"email": "p@example.com", "asset": "btc"}
    async with gateway.api.session.post(f"{gateway.base}/{inv['id']}", data=data) as resp:
        assert resp.status == 503
        assert "not available right now" in await resp.text()


async def test_open_status_streams_end_promptly_when_the_server_shuts_down(gateway):
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    resp = await gateway.api.session.get(f"{gateway.base}/{inv['id']}/events")
    assert b"event: state" in await asyncio.wait_for(resp.content.readuntil(b"}\n\n"), 5)
    started = time.monotonic()
    await gateway.api.server.close()
    assert time.monotonic() - started < 5, "shutdown waited for the open stream"
    await asyncio.wait_for(resp.content.read(), 5)  # the stream ended cleanly
    resp.release()


def test_production_streams_read_the_database_every_two_seconds(settings):
    from coinvoice.app import create_app
    from coinvoice.web.pay.handlers import STREAM_POLL_SECONDS

    assert create_app(settings, role="api")[STREAM_POLL_SECONDS] == 2.0


async def test_the_qr_code_is_made_once_in_a_worker_thread_not_on_the_event_loop(gateway, monkeypatch):
    """Encoding a QR code is 12-16 ms of pure Python: off the event loop, and once per payment, not per render."""
    made_in: list[str] = []
    real = segno.make

    def recording_make(*args, **kwargs):
        made_in.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(segno, "make", recording_make)
    monkeypatch.setattr(pay_model, "_qr_codes", OrderedDict())  # another test may have shown the same payment
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    for _ in range(3):  # the page, the polling feed and the page again
        for path in (f"/{inv['id']}", f"/{inv['id']}/status"):
            resp, body = await get(gateway, path)
            assert resp.status == 200 and "<svg" in body and view["address"]["address"] in body
    assert len(made_in) == 1, made_in
    assert made_in[0] != threading.main_thread().name
