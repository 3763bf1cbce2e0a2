"""The merchant's brand colour in Chromium: the buttons wear it, every text keeps 4.5:1 (computed in the browser)
in light and dark mode even for colours that would not, no CSP report, and the first load stays at most 5
requests and under 100 KB. And an any-amount invoice's page: an address and a QR code that names no amount."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.contrast import low_contrast
from tests.browser.tab import decode_qr, first_load, opened
from tests.browser.test_pay_axe import RUN_AXE
from tests.pay.gateway import Gateway


def rgb(color: str) -> str:
    return f"rgb({int(color[1:3], 16)}, {int(color[3:5], 16)}, {int(color[5:7], 16)})"


async def set_brand(gw: Gateway, color: str) -> None:
    status, body = await gw.api.call(
        "PATCH", "/api/company/settings", token=gw.company["publicToken"], json_body={"brandColor": color}
    )
    assert status == 200, body


# yellow reads badly on white, navy on the dark card: the page adjusts the text colour, never the buttons
@pytest.mark.parametrize("color", ["#ffeb3b", "#1a237e"])
async def test_a_brand_colour_is_worn_and_every_text_stays_readable(browser, gateway, color):
    await set_brand(gateway, color)
    created = await gateway.create_invoice()
    pending = await gateway.create_invoice()
    await gateway.fill(pending["id"])
    for scheme in ("light", "dark"):
        async with opened(browser, width=390, height=844, color_scheme=scheme) as tab:
            kinds, transferred, decoded = await first_load(tab, gateway, pending["id"])
            assert len(kinds) <= 5 and transferred < 100_000 and decoded < 100_000, kinds
            page = tab.page
            wallet = page.locator("#open-wallet")
            await expect(wallet).to_have_css("background-color", rgb(color))
            assert await low_contrast(page) == [], scheme
            await tab.open(gateway, created["id"])
            await expect(page.locator("button.primary")).to_have_css("background-color", rgb(color))
            await page.get_by_text("Order ·").click()
            assert await low_contrast(page) == [], scheme
            assert tab.csp_violations == []


async def test_an_any_amount_invoice_page_shows_an_address_and_a_qr_without_amount(
    browser, gateway, zbarimg, artifacts, axe_source
):
    async def unlimited(**body) -> dict:
        status, inv = await gateway.api.call(
            "POST", "/api/invoices/v1/unlimited", token=gateway.company["publicToken"], json_body=body
        )
        assert status == 201, inv
        return inv

    created = await unlimited(description="Donations")
    inv = await unlimited(paymentCurrency="ltc", description="Donations")
    view = await gateway.fill(inv["id"], None)
    address = view["address"]["address"]
    async with opened(browser, width=390, height=844) as tab:
        await tab.open(gateway, inv["id"])
        page = tab.page
        await expect(page.get_by_role("heading", name="Send any amount")).to_be_visible()
        await expect(page.locator("#open-wallet")).to_have_attribute("href", f"litecoin:{address}")
        assert await decode_qr(page, zbarimg, artifacts / "unlimited-qr.png") == f"litecoin:{address}"
        await expect(page.locator("#received-total")).to_have_text("0")
        assert await page.locator("#amount").count() == 0
    for scheme in ("light", "dark"):
        async with opened(browser, width=390, height=844, color_scheme=scheme) as tab:
            page = tab.page
            await page.add_init_script(path=str(axe_source))
            for invoice_id in (created["id"], inv["id"]):
                await tab.open(gateway, invoice_id)
                await expect(page.locator("#state h2").first).to_be_visible()
                assert await low_contrast(page) == [], scheme
                assert await page.evaluate(RUN_AXE) == [], scheme
            assert tab.csp_violations == []
