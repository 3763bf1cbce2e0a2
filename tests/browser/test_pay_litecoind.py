"""The whole payer journey on litecoind regtest: fill, pay from the node's wallet, watch it confirm, redirect."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from decimal import Decimal

from playwright.async_api import expect

from coinvoice.appkeys import JOBS
from tests.browser.tab import decode_qr, opened
from tests.pay.gateway import REDIRECT_URL

WATCH = 20_000  # ms: the watcher polls every second; mempool detection and one block


async def test_payer_pays_from_a_litecoin_wallet_and_sees_processing_then_done_then_returns_to_the_shop(
    browser, start_gateway, settings, litecoind, pool, artifacts, zbarimg
):
    chain = replace(settings.chain("litecoin"), network="regtest", rpc_url=litecoind.rpc_url, poll_seconds=1.0)
    gw = await start_gateway(role="all", chains={**settings.chains, "litecoin": chain})
    assert any("litecoin" in job.name for job in gw.app[JOBS]), "the app schedules the litecoin watcher"
    # the node is shared by the session: start at an index no other test derives
    await pool.execute(
        "UPDATE company_wallets SET next_index = $2 WHERE company_id = $1 AND chain = 'litecoin'",
        uuid.UUID(gw.company["id"]),
        random.randrange(1_000, 2**31 - 10_000),
    )
    inv = await gw.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        await tab.open(gw, inv["id"])
        await page.get_by_label("Your email").fill("payer@example.com")
        await page.get_by_label("LTC (Litecoin)").check()
        await page.get_by_role("button", name="Continue to payment").click()
        address = await page.locator("#address").inner_text()
        amount = await page.locator("#amount").inner_text()
        assert address.startswith("rltc1") and Decimal(amount) > 0
        assert await decode_qr(page, zbarimg, artifacts / "qr-regtest.png") == f"litecoin:{address}?amount={amount}"
        await page.evaluate("window.sameDocument = true")

        txid = await asyncio.to_thread(litecoind.send, address, Decimal(amount))
        await expect(page.get_by_role("heading", name="Payment seen")).to_be_visible(timeout=WATCH)
        await expect(page.locator(".conf")).to_have_text("0 of 1 confirmation")
        await page.screenshot(path=artifacts / "regtest-processing.png", full_page=True)

        await asyncio.to_thread(litecoind.mine, 1)
        await expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=WATCH)
        assert await page.evaluate("window.sameDocument") is True, "the page reloaded"
        await page.screenshot(path=artifacts / "regtest-done.png", full_page=True)
        await page.wait_for_url(REDIRECT_URL, timeout=10_000)
    view = await gw.view(inv["id"])
    assert view["status"] == "done"
    assert [t["txid"] for t in view["invoiceTransactions"]] == [txid]
