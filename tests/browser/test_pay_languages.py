"""The payer page in the payer's language in Chromium: chosen from the browser's languages, live updates too."""

from __future__ import annotations

from decimal import Decimal

from playwright.async_api import expect

from tests.browser.tab import opened

LIVE = 10_000


async def test_a_german_browser_gets_the_german_page_and_german_live_updates(browser, gateway, artifacts):
    inv = await gateway.create_invoice(items=[{"name": "Kaffee", "price": "1018.5"}])
    async with opened(browser, width=390, height=844, locale="de-DE") as tab:
        page = tab.page
        await tab.open(gateway, inv["id"])
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.get_by_role("heading", name="Diese Rechnung bezahlen")).to_be_visible()
        await expect(page.locator("#total")).to_have_text("1.018,50 EUR")
        await page.get_by_label("Ihre E-Mail-Adresse").fill("zahler@example.com")
        await page.get_by_label("LTC (Litecoin)").check()
        await page.get_by_role("button", name="Weiter zur Zahlung").click()
        await expect(page.get_by_role("heading", name="Senden Sie Ihre Zahlung")).to_be_visible()
        await expect(page.get_by_role("link", name="In der Wallet öffnen")).to_be_visible()
        view = await gateway.view(inv["id"])
        await expect(page.locator("#amount")).to_have_text(view["paymentDetails"]["amount"].replace(".", ","))
        await page.screenshot(path=artifacts / "state-pending-de.png", full_page=True)
        due = int(Decimal(view["paymentDetails"]["amount"]).scaleb(8))
        await gateway.add_deposit(inv["id"], due, 0, "processing")
        await expect(page.get_by_role("heading", name="Zahlung gesehen")).to_be_visible(timeout=LIVE)
        await expect(page.locator("#announce")).to_have_text("Zahlung gesehen, warte auf Bestätigungen.")
        await expect(page.locator(".conf")).to_have_text("0 von 1 Bestätigung")
        await page.get_by_role("link", name="Français").click()
        await expect(page.get_by_role("heading", name="Paiement détecté")).to_be_visible()
        assert tab.csp_violations == []
