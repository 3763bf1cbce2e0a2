"""Defects of the first payer page, proven over plain HTTP and on the page model (issue 13)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from coinvoice.web.pay.model import Support, build_page, price, support_of
from coinvoice.web.pay.render import load_static, make_templates
from tests.pay.gateway import Gateway
from tests.pay.test_model import VIEW
from tests.pay.test_pay_http import get

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _render(page) -> str:
    return (
        make_templates(load_static())["en"]
        .get_template("state.html")
        .render(page=page, error=None, email="", chosen=None, lang_query=None)
    )


def _trc20_view() -> dict:
    return {
        **VIEW,
        "status": "pending",
        "invoiceTransactions": [],
        "address": {"address": "TXYZpayee000000000000000000000000", "tag": None, "asset": "trc20usdt"},
        "paymentDetails": {**VIEW["paymentDetails"], "amount": "15.12", "received": "0", "remaining": "15.12"},
    }


def test_trc20_payment_has_no_relative_wallet_link_and_offers_to_copy_address_and_amount(settings):
    page = build_page(_trc20_view(), (), settings, NOW)
    assert page.payment.uri == "TXYZpayee000000000000000000000000" and page.payment.wallet_uri is None
    html = _render(page)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(re.match(r"[a-z][a-z0-9+.-]*:", h) for h in hrefs), hrefs  # never relative: /<address> is a 404
    assert 'id="copy-both"' in html and "Copy address and amount" in html
    assert "Send only USDT on the TRON network (TRC-20)" in html


def test_bip21_payment_opens_the_wallet_with_the_uri(settings):
    html = _render(build_page({**VIEW, "status": "pending", "invoiceTransactions": []}, (), settings, NOW))
    assert 'id="open-wallet" href="litecoin:rltc1qabc?amount=' in html


def test_prices_keep_the_decimal_places_of_their_currency():
    assert price("18.5", "eur") == "18.50" and price("14", "usd") == "14.00"
    assert price("0.5", "btc") == "0.5"  # a crypto invoice currency is shown as the merchant wrote it


async def test_page_shows_fiat_prices_with_cents(gateway: Gateway):
    inv = await gateway.create_invoice(items=[{"name": "Tea", "price": "18.5"}])
    _, html = await get(gateway, f"/{inv['id']}")
    assert "18.50 EUR" in html and "18.5 EUR" not in html


async def test_every_state_shows_the_short_reference(gateway: Gateway):
    inv = await gateway.create_invoice()
    code = inv["id"].replace("-", "")[:8].upper()
    reference = f"{code[:4]}-{code[4:]}"
    for step in ("created", "pending", "expired"):
        if step == "pending":
            await gateway.fill(inv["id"])
        if step == "expired":
            await gateway.set_status(inv["id"], "expired")
        _, html = await get(gateway, f"/{inv['id']}")
        assert reference in html, step


async def test_expired_invoice_names_the_merchants_support_contact_and_the_way_back(gateway: Gateway):
    await gateway.pool.execute(
        "UPDATE companies SET support_url = $2, support_email = $3 WHERE id = $1",
        uuid.UUID(gateway.company["id"]),
        "https://shop.example/help",
        "help@shop.example",
    )
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    await gateway.set_status(inv["id"], "expired")
    _, html = await get(gateway, f"/{inv['id']}")
    assert 'href="https://shop.example/help"' in html and 'href="mailto:help@shop.example?subject=' in html
    assert 'id="back-to-shop" href="https://shop.example/thanks"' in html


def test_support_contact_keeps_only_safe_values():
    assert support_of("javascript:alert(1)", "a@b.example") == Support(None, "a@b.example")
    assert support_of("https://x.example/help", "bad<script>@x") == Support("https://x.example/help", None)
    assert not support_of(None, None)


async def test_malformed_paths_get_the_pages_own_404_and_the_api_keeps_its_json(gateway: Gateway):
    for path in ("/not-an-invoice", "/7f1c6a1e-0000-4000-8000", "/7f1c6a1e-0000-4000-8000-000000000001/nope"):
        resp, html = await get(gateway, path)
        assert resp.status == 404 and resp.content_type == "text/html" and "Invoice not found" in html, path
        assert resp.headers["Content-Security-Policy"]
    resp, body = await get(gateway, "/api/nothing-here")
    assert resp.status == 404 and "Invoice not found" not in body
    resp, _ = await get(gateway, "/static/pay/nope.js")
    assert resp.status == 404


async def test_a_done_invoice_is_a_receipt_without_an_automatic_redirect(gateway: Gateway):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    units = int(float(view["paymentDetails"]["amount"]) * 10**8 + 0.5)
    await gateway.add_deposit(inv["id"], units, 1, "done")
    _, html = await get(gateway, f"/{inv['id']}")
    assert 'http-equiv="refresh"' not in html
    assert 'id="receipt"' in html and view["paymentDetails"]["amount"] in html


async def test_each_asset_has_an_inline_icon_and_no_other_request(gateway: Gateway):
    inv = await gateway.create_invoice()
    _, html = await get(gateway, f"/{inv['id']}")
    assert html.count('<svg class="icon"') == 2 and "<img" not in html.split("</header>")[1]


def test_a_form_error_is_translated_and_escaped_never_trusted_as_markup(settings):
    page = build_page({**VIEW, "status": "created", "address": None, "paymentDetails": None}, (), settings, NOW)
    env = make_templates(load_static())["de"]
    html = env.get_template("state.html").render(page=page, error="<b>50%</b>", email="", chosen=None, lang_query="de")
    assert "&lt;b&gt;50%&lt;/b&gt;" in html and 'action="/' + VIEW["id"] + '?lang=de"' in html
    html = env.get_template("state.html").render(
        page=page, error="Choose how you want to pay.", email="", chosen=None, lang_query=None
    )
    assert "Wählen Sie, wie Sie bezahlen möchten." in html and 'action="/' + VIEW["id"] + '"' in html
