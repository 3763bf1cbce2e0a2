"""The defects found in the first payer page (issue 13), each proven in Chromium: every one failed on that page."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from playwright.async_api import expect

from coinvoice.services.companies import set_assets, set_wallet
from tests.browser.contrast import low_contrast
from tests.browser.tab import decode_qr, opened
from tests.conftest import TPUB
from tests.pay.gateway import REDIRECT_URL, Gateway

LIVE = 10_000


def units(amount: str) -> int:
    return int(Decimal(amount).scaleb(8))


async def _tron_gateway(start_gateway, settings) -> Gateway:
    gw = await start_gateway()
    company_id = uuid.UUID(gw.company["id"])
    await set_wallet(gw.pool, settings, company_id, "tron", TPUB)
    await set_assets(gw.pool, company_id, {"ltc": False, "btc": False, "usdt": True})
    return gw


async def test_trc20_button_copies_address_and_amount_and_the_qr_is_the_exact_address(
    browser, start_gateway, settings, artifacts, zbarimg
):
    gw = await _tron_gateway(start_gateway, settings)
    inv = await gw.create_invoice()
    view = await gw.fill(inv["id"], "trc20usdt")
    address, amount = view["address"]["address"], view["paymentDetails"]["amount"]
    async with opened(browser) as tab:
        page = tab.page
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await tab.open(gw, inv["id"])
        await expect(page.locator("#address")).to_have_text(address)
        # no link may point at the address as a path: /<address> was a raw 404
        hrefs = await page.locator("#state a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert all(re.match(r"[a-z][a-z0-9+.-]*:", h) for h in hrefs), hrefs
        assert await page.locator("#open-wallet").count() == 0
        await expect(page.locator("#network-warning")).to_contain_text("Send only USDT on the TRON network")
        await page.get_by_role("button", name="Copy address and amount").click()
        button = page.locator("#copy-both")
        await expect(button).to_have_text("Copied address and amount")
        assert await page.evaluate("navigator.clipboard.readText()") == f"{address}\n{amount}"
        assert await low_contrast(page) == []  # the primary button keeps its colours while it says so
        assert await decode_qr(page, zbarimg, artifacts / "qr-trc20.png") == address
        await page.screenshot(path=artifacts / "state-trc20.png", full_page=True)


async def test_a_60_percent_payment_shows_the_remainder_before_any_confirmation(browser, gateway, artifacts, zbarimg):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    due = units(view["paymentDetails"]["amount"])
    address = view["address"]["address"]
    async with opened(browser, width=390, height=844) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#address")).to_be_visible()
        await gateway.add_deposit(inv["id"], due * 6 // 10, 0, "processing")  # seen, not confirmed
        await expect(page.locator("#missing")).to_be_visible(timeout=LIVE)
        remaining = (await gateway.view(inv["id"]))["paymentDetails"]["remaining"]
        await expect(page.locator("#amount")).to_have_text(remaining)
        await expect(page.locator("#countdown")).to_be_visible()
        await expect(page.locator("#confirming .conf")).to_have_text("0 of 1 confirmation")
        assert await page.get_by_role("heading", name="Payment seen").count() == 0
        assert await decode_qr(page, zbarimg, artifacts / "qr-short.png") == f"litecoin:{address}?amount={remaining}"
        await page.screenshot(path=artifacts / "state-short-unconfirmed.png", full_page=True)


async def test_a_done_invoice_revisited_shows_the_receipt_and_stays(browser, gateway, artifacts):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    await gateway.add_deposit(inv["id"], units(view["paymentDetails"]["amount"]), 1, "done")
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        receipt = page.locator("#receipt")
        await expect(receipt).to_contain_text(view["paymentDetails"]["amount"])
        await expect(receipt).to_contain_text("UTC")
        await expect(page.get_by_role("button", name="Print receipt")).to_be_visible()
        await page.wait_for_timeout(6500)
        assert page.url == f"{gateway.base}/{inv['id']}", "a revisit must not redirect"
        await page.screenshot(path=artifacts / "state-receipt.png", full_page=True)


async def test_the_redirect_after_payment_can_be_stopped(browser, gateway):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#address")).to_be_visible()
        await gateway.add_deposit(inv["id"], units(view["paymentDetails"]["amount"]), 1, "done")
        await expect(page.get_by_role("link", name="Return now")).to_have_attribute("href", REDIRECT_URL, timeout=LIVE)
        await page.get_by_role("button", name="Stay on this page").click()
        await page.wait_for_timeout(6000)
        assert page.url == f"{gateway.base}/{inv['id']}"
        await expect(page.locator("#receipt")).to_be_visible()


async def test_copy_without_a_clipboard_selects_the_text_and_says_so(browser, gateway):
    inv = await gateway.create_invoice()
    view = await gateway.fill(inv["id"])
    async with opened(browser) as tab:
        page = tab.page
        # plain http on a real host: no secure context, no navigator.clipboard
        await page.add_init_script(
            "Object.defineProperty(navigator, 'clipboard', {value: undefined});"
            "Object.defineProperty(window, 'isSecureContext', {value: false});"
        )
        await tab.open(gateway, inv["id"])
        await page.get_by_role("button", name="Copy address").click()
        button = page.locator("#address + button.copy")
        await expect(button).not_to_have_text("Copy")
        await expect(button).to_have_text(re.compile("Copied|Selected"))
        assert await page.evaluate("String(window.getSelection())") == view["address"]["address"]
        await expect(page.locator("#announce")).to_have_text(re.compile("Copied|Selected"))


async def test_the_email_field_says_why_it_is_asked(browser, gateway):
    inv = await gateway.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.get_by_label("Your email")).to_have_accessible_description(
            re.compile("only to reach you if something is wrong")
        )


async def test_expiry_is_announced_and_the_address_withdrawn_at_zero_by_the_servers_clock(browser, gateway, artifacts):
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    async with opened(browser) as tab:
        page = tab.page
        # the payer's clock is 10 minutes slow: the page must follow the server's
        await page.add_init_script("(() => { const now = Date.now; Date.now = () => now() - 600000; })()")
        await gateway.pool.execute(
            "UPDATE invoices SET expires_at = now() + interval '62 seconds' WHERE id = $1", uuid.UUID(inv["id"])
        )
        await tab.open(gateway, inv["id"])
        await expect(page.locator("#announce")).to_have_text("5 minutes left to pay.")
        await expect(page.locator("#expiry-bar")).to_be_visible()
        await expect(page.locator("#announce")).to_have_text("1 minute left to pay.", timeout=5000)
        await page.screenshot(path=artifacts / "state-expiring.png", full_page=True)

        expires = await gateway.pool.fetchval(
            "UPDATE invoices SET expires_at = now() + interval '3 seconds' WHERE id = $1 RETURNING expires_at",
            uuid.UUID(inv["id"]),
        )
        await page.reload()
        await expect(page.locator("#address")).to_be_visible()
        await expect(page.locator("#address")).to_have_count(0, timeout=5000)
        gone = await gateway.pool.fetchval("SELECT now()")
        assert (gone - expires).total_seconds() < 1.0, "the address stayed after 0:00"
        assert await page.locator("svg.qr").count() == 0
        await expect(page.get_by_role("heading", name=re.compile("Time is up|has expired"))).to_be_visible()


async def test_smaller_defects_wording_focus_single_choice_and_target_sizes(browser, gateway):
    await set_assets(gateway.pool, uuid.UUID(gateway.company["id"]), {"ltc": True, "btc": False})
    inv = await gateway.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        assert await page.locator("fieldset").count() == 0, "a fieldset around a single option"
        await expect(page.locator("#preset-asset")).to_have_text("LTC (Litecoin)")
        await page.get_by_label("Your email").fill("payer@example.com")
        await page.get_by_role("button", name="Continue to payment").click()
        await expect(page.locator("#address")).to_be_visible()
        for button in await page.locator("button.copy").all():
            box = await button.bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44, box
        view = await gateway.view(inv["id"])
        await page.get_by_role("button", name="Copy amount").focus()
        await gateway.add_deposit(inv["id"], units(view["paymentDetails"]["amount"]) // 2, 1, "wrong")
        heading = page.get_by_role("heading", name="Payment incomplete")
        await expect(heading).to_be_focused(timeout=LIVE)
        assert await heading.evaluate("h => getComputedStyle(h).outlineStyle") == "none"
        text = await page.locator("#missing").inner_text()
        assert "LTC (Litecoin)" not in text and "LTC" in text
        await gateway.confirm_all(inv["id"], 0, "processing")  # a new full deposit seen: "0 of 1"
        await gateway.add_deposit(inv["id"], units(view["paymentDetails"]["amount"]), 0, "processing")
        await expect(page.locator(".conf").last).to_have_text("0 of 1 confirmation", timeout=LIVE)
