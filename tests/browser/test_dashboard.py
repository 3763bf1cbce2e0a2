"""The merchant dashboard in Chromium: sign in, live payment on litecoind, redelivery, wallets, 390 px and axe-core."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from playwright.async_api import expect

from coinvoice.appkeys import SETTINGS
from coinvoice.services.account import set_webhook_url
from tests.browser.tab import opened
from tests.browser.test_pay_axe import RUN_AXE
from tests.chains.test_derive_litecoind import TPUB_84, litecoind_receive_addresses
from tests.dashboard.support import PASSWORD, add_user
from tests.pay.gateway import Gateway
from tests.webhooks.receiver import Receiver

WATCH = 20_000  # ms: the watcher polls every second; mempool detection and one block
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


async def sign_in(page: Any, gw: Gateway, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{gw.base}/dashboard/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_merchant_signs_in_and_sees_a_litecoind_payment_turn_processing_then_paid_without_reload(
    browser, start_gateway, settings, litecoind, pool, artifacts
):
    chain = replace(settings.chain("litecoin"), network="regtest", rpc_url=litecoind.rpc_url, poll_seconds=1.0)
    gw = await start_gateway(role="all", chains={**settings.chains, "litecoin": chain})
    await pool.execute(  # the node is shared by the session: start at an index no other test derives
        "UPDATE company_wallets SET next_index = $2 WHERE company_id = $1 AND chain = 'litecoin'",
        uuid.UUID(gw.company["id"]),
        random.randrange(1_000, 2**31 - 10_000),
    )
    email = await add_user(gw)
    inv = await gw.create_invoice()
    view = await gw.fill(inv["id"])
    async with opened(browser) as tab:
        page = tab.page
        await sign_in(page, gw, email, "not my password")
        await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
        await sign_in(page, gw, email)
        await expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
        badge = page.locator(f'[data-invoice="{inv["id"]}"]')
        await expect(badge).to_have_text("Waiting for payment")
        detail = await page.context.new_page()
        await detail.goto(f"{gw.base}/dashboard/invoices/{inv['id']}")
        await expect(detail.locator("#live .badge")).to_have_text("Waiting for payment")
        for p in (page, detail):
            await p.evaluate("window.sameDocument = true")

        txid = await asyncio.to_thread(
            litecoind.send, view["address"]["address"], Decimal(view["paymentDetails"]["amount"])
        )
        await expect(badge).to_have_text("Processing", timeout=WATCH)
        await expect(detail.locator("#live .badge")).to_have_text("Processing", timeout=WATCH)
        await expect(detail.get_by_role("link", name=txid[:16] + "…")).to_be_visible(timeout=WATCH)

        await asyncio.to_thread(litecoind.mine, 1)
        await expect(badge).to_have_text("Paid", timeout=WATCH)
        await expect(detail.locator("#live .badge")).to_have_text("Paid", timeout=WATCH)
        await expect(detail.locator("#live .conf")).to_have_text("1 (confirmed)")
        await expect(detail.get_by_text("invoice.done")).to_be_visible()
        await page.screenshot(path=artifacts / "dashboard-invoices.png", full_page=True)
        await detail.screenshot(path=artifacts / "dashboard-invoice-paid.png", full_page=True)
        for p in (page, detail):
            assert await p.evaluate("window.sameDocument") is True, "the page reloaded"
        assert tab.csp_violations == []


async def test_merchant_redelivers_a_failed_webhook_and_sees_the_new_attempt(browser, start_gateway, pool):
    receiver = Receiver(status=500)
    await receiver.start()
    try:
        gw = await start_gateway(
            role="all",
            webhook_retry_base_seconds=0.2,
            webhook_retry_max_seconds=0.5,
            webhook_retry_window_hours=1 / 3600,  # gives up after a second
            webhook_poll_seconds=0.5,
        )
        await set_webhook_url(pool, gw.app[SETTINGS], uuid.UUID(gw.company["id"]), receiver.url)
        inv = await gw.create_invoice()
        for _ in range(100):
            if await pool.fetchval("SELECT state FROM webhook_deliveries") == "failed":
                break
            await asyncio.sleep(0.1)
        assert await pool.fetchval("SELECT state FROM webhook_deliveries") == "failed"
        failures = len(receiver.received)
        receiver.status = 200
        email = await add_user(gw)
        async with opened(browser) as tab:
            page = tab.page
            await sign_in(page, gw, email)
            await page.goto(f"{gw.base}/dashboard/invoices/{inv['id']}")
            delivery = page.locator(".delivery")
            await expect(delivery.locator("h3")).to_have_text("invoice.created · failed")
            await expect(delivery.get_by_text("HTTP 500").first).to_be_visible()
            await expect(delivery.locator("code", has_text="nope").first).to_be_visible()  # the receiver's answer
            await expect(delivery.get_by_text("HTTP 200")).to_have_count(0)
            await delivery.get_by_role("button", name="Redeliver").click()
            await expect(delivery.get_by_text("HTTP 200")).to_be_visible(timeout=10_000)
            await expect(delivery.locator("h3")).to_have_text("invoice.created · delivered")
            await expect(delivery.locator("code", has_text="ok")).to_have_count(1)
        assert len(receiver.delivered) == 1 and len(receiver.received) == failures + 1
    finally:
        await receiver.stop()


async def test_wallet_set_in_the_dashboard_shows_the_addresses_litecoind_derives(browser, gateway, litecoind):
    await gateway.pool.execute("DELETE FROM company_wallets")
    email = await add_user(gateway)
    async with opened(browser) as tab:
        page = tab.page
        await sign_in(page, gateway, email)
        await page.get_by_role("link", name="Wallets").click()
        await page.get_by_label("Chain").select_option("litecoin")
        await page.get_by_label("Extended public key").fill(TPUB_84)
        await page.get_by_role("button", name="Save wallet").click()
        await expect(page.get_by_role("status")).to_contain_text("Wallet saved")
        shown = await page.locator("#w-litecoin ~ ol.addresses li, .wallet ol.addresses li").all_inner_texts()
    expected = await asyncio.to_thread(litecoind_receive_addresses, litecoind, TPUB_84, 0, 4)
    assert shown == expected


async def test_every_page_is_inert_to_hostile_text_usable_at_390px_and_passes_axe(
    browser, gateway, axe_source, artifacts
):
    inv = await gateway.create_invoice(items=[{"name": HOSTILE, "price": "5"}])
    await gateway.fill(inv["id"])
    await gateway.add_deposit(inv["id"], 1000, 1, "pending")  # shown as not credited, with its Accept form
    await gateway.pool.execute("UPDATE deposits SET credited = false, reason = 'wrong_asset'")
    email = await add_user(gateway)
    viewer = await add_user(gateway, "viewer")
    paths = ["/dashboard/invoices", f"/dashboard/invoices/{inv['id']}", "/dashboard/invoices/new",
             "/dashboard/deposits", "/dashboard/settings", "/dashboard/wallets", "/dashboard/keys",
             "/dashboard/users"]  # fmt: skip
    for who in (email, viewer):
        for scheme in ("light", "dark"):
            async with opened(browser, width=390, height=844, color_scheme=scheme) as tab:
                page = tab.page
                await page.add_init_script(path=str(axe_source))
                await page.goto(f"{gateway.base}/dashboard/sign-in")
                assert await page.evaluate(RUN_AXE) == []
                await sign_in(page, gateway, who)
                await expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
                for path in paths:
                    await page.goto(gateway.base + path)
                    wide = await page.evaluate(
                        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                    )
                    assert wide <= 0, f"{path} scrolls sideways by {wide}px at 390px"
                    violations = await page.evaluate(RUN_AXE)
                    assert violations == [], f"{who} {scheme} {path}: {violations}"
                    assert await page.evaluate("window.pwned") is None, f"hostile text ran on {path}"
                    if who == email and scheme == "light":
                        name = path.strip("/").replace("/", "-").replace(inv["id"], "one")
                        await page.screenshot(path=artifacts / f"{name}-390.png", full_page=True)
                await page.goto(f"{gateway.base}/dashboard/invoices/{inv['id']}")
                await expect(page.get_by_text(HOSTILE, exact=True)).to_be_visible()
                if who == viewer:  # the buttons are hidden too (the server refuses anyway: tests/dashboard)
                    await page.goto(f"{gateway.base}/dashboard/wallets")
                    await expect(page.get_by_role("button", name="Save wallet")).to_have_count(0)
                assert tab.dialogs == [] and tab.csp_violations == []
