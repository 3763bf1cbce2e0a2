"""Dark mode: the page follows prefers-color-scheme, looks different, and every text keeps 4.5:1 in both schemes."""

from __future__ import annotations

import uuid
from decimal import Decimal

from playwright.async_api import expect

from tests.browser.contrast import low_contrast
from tests.browser.tab import opened
from tests.pay.gateway import Gateway


def units(amount: str) -> int:
    return int(Decimal(amount).scaleb(8))


async def _states(gateway: Gateway) -> dict[str, str]:
    """One invoice in each state the page can show."""
    created = await gateway.create_invoice()
    pending = await gateway.create_invoice()
    await gateway.fill(pending["id"])
    short = await gateway.create_invoice()
    view = await gateway.fill(short["id"])
    await gateway.add_deposit(short["id"], units(view["paymentDetails"]["amount"]) // 2, 0, "processing")
    done = await gateway.create_invoice()
    view = await gateway.fill(done["id"])
    await gateway.add_deposit(done["id"], units(view["paymentDetails"]["amount"]), 1, "done")
    expired = await gateway.create_invoice()
    await gateway.fill(expired["id"])
    await gateway.set_status(expired["id"], "expired")
    return {"created": created["id"], "pending": pending["id"], "short": short["id"], "done": done["id"],
            "expired": expired["id"]}  # fmt: skip


async def test_dark_mode_differs_and_keeps_text_contrast_in_every_state(browser, gateway, artifacts):
    await gateway.pool.execute(
        "UPDATE companies SET support_url = 'https://shop.example/help', support_email = 'help@shop.example'"
        " WHERE id = $1",
        uuid.UUID(gateway.company["id"]),
    )
    states = await _states(gateway)
    shots: dict[str, bytes] = {}
    for scheme in ("light", "dark"):
        async with opened(browser, width=390, height=844, color_scheme=scheme) as tab:
            page = tab.page
            for name, invoice_id in states.items():
                await tab.open(gateway, invoice_id)
                await expect(page.locator("#state h2").first).to_be_visible()
                await page.get_by_text("Order ·").click()
                bad = await low_contrast(page)
                assert bad == [], f"{scheme} {name}: {bad}"
                shot = await page.screenshot(path=artifacts / f"{scheme}-{name}.png", full_page=True)
                if name == "pending":
                    shots[scheme] = shot
            assert tab.csp_violations == []
    assert shots["light"] != shots["dark"]
