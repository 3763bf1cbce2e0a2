"""The hosted payer page in Debian's Chromium: every state, live updates, QR decoding, safety, size."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.async_api import expect

from tests.browser.tab import decode_qr, first_load, opened
from tests.pay.gateway import REDIRECT_URL

LIVE = 10_000  # ms a live change may take to show (streams read the database every 0.5 s in tests)


def units(amount: str) -> int:
    return int(Decimal(amount).scaleb(8))


async def test_payer_fills_email_and_asset_then_sees_address_amount_and_a_qr_of_the_exact_uri(
    browser, gateway, artifacts, zbarimg
):
    inv = await gateway.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        response = await tab.open(gateway, inv["id"])
        assert "script-src 'self'" in response.headers["content-security-policy"]
        await expect(page.get_by_role("heading", name="Pay this invoice")).to_be_visible()
        await page.screenshot(path=artifacts / "state-created.png", full_page=True)
        await page.get_by_label("Your email").fill("payer@example.com")
        await page.get_by_label("LTC (Litecoin)").check()
        await page.get_by_role("button", name="Continue to payment").click()

        await expect(page.locator("#address")).to_be_visible()
        view = await gateway.view(inv["id"])
        address, amount = view["address"]["address"], view["paymentDetails"]["amount"]
        assert view["status"] == "pending" and "clientEmail" not in view
        await expect(page.locator("#address")).to_have_text(address)
        await expect(page.locator("#amount")).to_have_text(amount)
        await expect(page.locator("#asset")).to_have_text("LTC (Litecoin)")
        await expect(page.get_by_role("button", name="Copy address")).to_be_visible()
        await expect(page.locator(".meta")).to_contain_text(f"1 EUR = {view['paymentDetails']['rate']} LTC")
        assert await decode_qr(page, zbarimg, artifacts / "qr-pending.png") == f"litecoin:{address}?amount={amount}"
        countdown = page.locator("#countdown")
        first = await countdown.inner_text()
        assert re.fullmatch(r"(29|30):\d\d", first), first
        await expect(countdown).not_to_have_text(first, timeout=3000)
        await page.screenshot(path=artifacts / "state-pending.png", full_page=True)
        assert tab.csp_violations == [] and tab.dialogs == []


async def test_status_changes_live_from_pending_to_processing_to_done_and_redirects(browser, gateway, artifacts):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    due = units(view["paymentDetails"]["amount"])
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#address")).to_be_visible()
        await page.evaluate("window.sameDocument = true")

        await gateway.add_deposit(inv["id"], due, 0, "processing")
        await expect(page.get_by_role("heading", name="Payment seen")).to_be_visible(timeout=LIVE)
        await expect(page.locator(".conf")).to_have_text("0 of 1 confirmation")
        await expect(page.locator("#announce")).to_have_text("Payment seen, waiting for confirmations.")
        assert await page.evaluate("window.sameDocument") is True, "the page reloaded"
        await page.screenshot(path=artifacts / "state-processing.png", full_page=True)

        await gateway.confirm_all(inv["id"], 1, "done")
        await expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=LIVE)
        await expect(page.get_by_role("link", name="Return now")).to_have_attribute("href", REDIRECT_URL)
        assert await page.evaluate("window.sameDocument") is True, "the page reloaded"
        await page.screenshot(path=artifacts / "state-done.png", full_page=True)
        await page.wait_for_url(REDIRECT_URL, timeout=10_000)
        await expect(page.get_by_role("heading", name="Thanks")).to_be_visible()
        assert tab.csp_violations == []


async def test_underpayment_shows_the_remainder_and_a_qr_for_the_remainder(browser, gateway, artifacts, zbarimg):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    due = units(view["paymentDetails"]["amount"])
    address = view["address"]["address"]
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#address")).to_be_visible()
        await gateway.add_deposit(inv["id"], due - 1_000_000, 1, "wrong")

        missing = page.locator("#missing")
        await expect(missing).to_be_visible(timeout=LIVE)
        remaining = (await gateway.view(inv["id"]))["paymentDetails"]["remaining"]
        assert remaining == "0.01"
        await expect(missing).to_contain_text(f"{remaining} LTC is still missing")
        await expect(page.locator("#amount")).to_have_text(remaining)
        await expect(page.locator("#address")).to_have_text(address)
        assert await decode_qr(page, zbarimg, artifacts / "qr-wrong.png") == f"litecoin:{address}?amount={remaining}"
        await page.screenshot(path=artifacts / "state-wrong.png", full_page=True)


async def test_expired_invoice_says_so_and_offers_nothing_to_pay(browser, gateway, artifacts):
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#address")).to_be_visible()
        await gateway.set_status(inv["id"], "expired")
        await expect(page.get_by_role("heading", name="This invoice has expired")).to_be_visible(timeout=LIVE)
        await page.reload()
        await expect(page.get_by_role("heading", name="This invoice has expired")).to_be_visible()
        assert await page.locator("#address, #amount, svg.qr, form").count() == 0
        await page.screenshot(path=artifacts / "state-expired.png", full_page=True)


async def test_preset_currency_skips_the_asset_choice(browser, gateway):
    inv = await gateway.create_invoice(paymentCurrency="ltc")
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#preset-asset")).to_have_text("LTC (Litecoin)")
        assert await page.locator("input[type=radio]").count() == 0
        await page.get_by_label("Your email").fill("payer@example.com")
        await page.get_by_role("button", name="Continue to payment").click()
        await expect(page.locator("#asset")).to_have_text("LTC (Litecoin)")
    assert (await gateway.view(inv["id"]))["status"] == "pending"


async def test_merchant_text_with_markup_renders_as_text(browser, gateway):
    evil = "<img src=x onerror=alert(1)>"
    inv = await gateway.create_invoice(
        items=[{"name": evil, "price": "5"}, {"name": "</td><script>alert(2)</script>", "price": "1"}]
    )
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await page.get_by_text("Order ·").click()  # the summary opens the collapsed order
        await expect(page.get_by_role("cell", name=evil)).to_be_visible()
        await expect(page.get_by_role("heading", name="Coffee & Co <b>")).to_be_visible()
        await page.wait_for_timeout(500)
        assert await page.locator("img[src=x], main script").count() == 0
        assert tab.dialogs == []


async def test_phone_width_has_no_horizontal_scroll(browser, gateway, artifacts):
    long_name = "Extra-long-unbroken-item-name-" * 4
    inv = await gateway.create_invoice(invoiceCurrency="usd", items=[{"name": long_name, "price": "123456.78"}])
    async with opened(browser, width=320, height=700) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await page.get_by_text("Order ·").click()
        assert await page.evaluate("document.documentElement.scrollWidth") <= 320
        await page.get_by_label("Your email").fill("payer@example.com")
        await page.get_by_label("BTC (Bitcoin)").check()
        await page.get_by_role("button", name="Continue to payment").click()
        await expect(page.locator("#address")).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        print(f"scrollWidth at 320 px: {width}")
        assert width <= 320
        await page.screenshot(path=artifacts / "state-pending-320px.png", full_page=True)


async def test_form_works_with_the_keyboard_alone(browser, gateway):
    inv = await gateway.create_invoice(invoiceCurrency="usd")
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await page.keyboard.press("Tab")  # the order summary comes first: Enter opens it
        await expect(page.locator("#order summary")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("cell", name="Coffee")).to_be_visible()
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("Your email")).to_be_focused()
        await page.keyboard.type("keys@example.com")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Space")  # the first radio of the group
        await expect(page.get_by_label("BTC (Bitcoin)")).to_be_checked()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Continue to payment")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#address")).to_be_visible()
    assert (await gateway.view(inv["id"]))["invoiceContent"]["paymentCurrency"] == "btc"


async def test_basic_flow_works_without_javascript(browser, gateway, artifacts):
    inv = await gateway.create_invoice()
    async with opened(browser, js=False) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await page.get_by_label("Your email").fill("a@b")  # the browser accepts it, the gateway does not
        await page.get_by_label("LTC (Litecoin)").check()
        await page.get_by_role("button", name="Continue to payment").click()
        await expect(page.get_by_role("alert")).to_contain_text("valid email")
        await expect(page.get_by_label("LTC (Litecoin)")).to_be_checked()
        await page.get_by_label("Your email").fill("payer@example.com")
        await page.get_by_role("button", name="Continue to payment").click()

        view = await gateway.view(inv["id"])
        assert page.url == f"{gateway.base}/{inv['id']}"
        await expect(page.locator("#address")).to_have_text(view["address"]["address"])
        await expect(page.locator("svg.qr")).to_be_visible()
        await expect(page.locator("#countdown")).to_have_text(re.compile(r"\d+:\d\d"))
        assert await page.get_by_role("button", name="Copy address").is_hidden()
        await page.screenshot(path=artifacts / "state-pending-nojs.png", full_page=True)
        await gateway.add_deposit(inv["id"], units(view["paymentDetails"]["amount"]), 1, "done")
        await page.reload()
        await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
        await expect(page.get_by_role("link", name="Back to shop")).to_have_attribute("href", REDIRECT_URL)


async def test_first_load_is_light(browser, gateway):
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    async with opened(browser) as tab:
        kinds, transferred, decoded = await first_load(tab, gateway, inv["id"])
        print(f"first load: {len(kinds)} requests {kinds}, {transferred} B transferred, {decoded} B decoded")
        assert len(kinds) <= 5, kinds
        assert transferred < 100_000 and decoded < 100_000
        assert "eventsource" in kinds


async def test_status_still_updates_live_by_polling_without_event_source(browser, gateway):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    async with opened(browser) as tab:
        page = tab.page
        await page.add_init_script("delete window.EventSource")
        polls = []
        page.on("request", lambda r: polls.append(r.url) if "/status" in r.url else None)
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#address")).to_be_visible()
        await page.evaluate("window.sameDocument = true")
        await gateway.add_deposit(inv["id"], units(view["paymentDetails"]["amount"]), 0, "processing")
        await expect(page.get_by_role("heading", name="Payment seen")).to_be_visible(timeout=LIVE)
        assert await page.evaluate("window.sameDocument") is True
        assert polls, "the page did not fall back to polling"
