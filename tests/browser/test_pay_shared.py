"""The payer journey on the shared-address chains, in Chromium: the page shows the Solana Pay reference or the TON
comment (with its warning), the QR code decodes to the exact payment URI, the payment made with it is seen and
the invoice is paid, all without a reload. Solana runs on the LiteSVM stand-in, TON on the toncenter stand-in."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from playwright.async_api import expect
from solders.keypair import Keypair

from coinvoice.workers.scheduler import JOBS
from tests.browser.tab import decode_qr, opened
from tests.chains.shared_fixtures import TON_API_KEY
from tests.chains.shared_support import accept_shared, shared_settings
from tests.pay.gateway import REDIRECT_URL, Gateway
from tests.support.solana_standin import LAMPORTS_PER_SOL, SolanaPayer
from tests.support.ton_standin import NANOTONS, TonWallet

WATCH = 20_000  # ms: the scanner polls every second


async def _gateway(start_gateway, settings, chain: str, url: str, **changes: Any) -> Gateway:
    chosen = shared_settings(settings, chain, url, poll_seconds=1.0, **changes)
    gw = await start_gateway(role="all", chains=chosen.chains, confirmations=chosen.confirmations)
    assert f"watch-{chain}" in [job.name for job in gw.app[JOBS]], f"the app schedules the {chain} scanner"
    return gw


async def _choose(tab: Any, gw: Gateway, invoice_id: str, label: str) -> tuple[str, str]:
    page = tab.page
    await tab.open(gw, invoice_id)
    await page.get_by_label("Your email").fill("payer@example.com")
    await page.get_by_label(label).check()
    await page.get_by_role("button", name="Continue to payment").click()
    await expect(page.get_by_role("heading", name="Send your payment")).to_be_visible()
    return await page.locator("#address").inner_text(), await page.locator("#amount").inner_text()


def _units(amount: str) -> int:
    value = Decimal(amount).scaleb(9)
    assert value == value.to_integral_value()
    return int(value)


async def test_payer_pays_sol_with_the_solana_pay_qr_and_its_reference(
    browser, start_gateway, settings, solana_node, artifacts, zbarimg
):
    gw = await _gateway(start_gateway, settings, "solana", solana_node.rpc_url)
    recipient = Keypair().pubkey()
    solana_node.airdrop(recipient, LAMPORTS_PER_SOL)
    await accept_shared(gw.api, gw.company, "solana", str(recipient))
    inv = await gw.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        address, amount = await _choose(tab, gw, inv["id"], "SOL (Solana)")
        assert address == str(recipient)
        reference = await page.locator("#reference").inner_text()
        view = await gw.view(inv["id"])
        assert reference == view["address"]["reference"]
        await expect(page.locator("#reference-note")).to_contain_text("exactly the amount")
        await page.screenshot(path=artifacts / "solana-pending.png", full_page=True)
        qr = await decode_qr(page, zbarimg, artifacts / "qr-solana.png")
        label, message = quote("Coffee & Co <b>", safe=""), quote(f"Invoice {inv['id']}", safe="")
        assert qr == f"solana:{address}?amount={amount}&reference={reference}&label={label}&message={message}"
        await page.evaluate("window.sameDocument = true")

        payer = await asyncio.to_thread(SolanaPayer, solana_node)
        signature = await asyncio.to_thread(payer.pay, address, _units(amount), reference)
        await expect(page.get_by_role("heading", name="Payment seen")).to_be_visible(timeout=WATCH)
        await page.screenshot(path=artifacts / "solana-processing.png", full_page=True)
        await asyncio.to_thread(solana_node.finalize)
        await expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=WATCH)
        assert await page.evaluate("window.sameDocument") is True, "the page reloaded"
        await page.screenshot(path=artifacts / "solana-done.png", full_page=True)
        await page.wait_for_url(REDIRECT_URL, timeout=10_000)
        assert not tab.csp_violations, tab.csp_violations
    view = await gw.view(inv["id"])
    assert view["status"] == "done" and [t["txid"] for t in view["invoiceTransactions"]] == [signature]


async def test_payer_pays_ton_with_the_comment_the_page_says_is_required(
    browser, start_gateway, settings, ton_node, artifacts, zbarimg
):
    gw = await _gateway(start_gateway, settings, "ton", ton_node.url, api_key=TON_API_KEY)
    merchant = TonWallet(ton_node, NANOTONS)
    await asyncio.to_thread(merchant.deploy)
    await accept_shared(gw.api, gw.company, "ton", merchant.friendly)
    inv = await gw.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        address, amount = await _choose(tab, gw, inv["id"], "TON (Toncoin)")
        assert address == merchant.friendly
        comment = await page.locator("#tag").inner_text()
        assert comment == (await gw.view(inv["id"]))["address"]["tag"]
        await expect(page.get_by_text("Comment (required)")).to_be_visible()
        await expect(page.locator("#tag-warning")).to_contain_text("exactly this text")
        await page.screenshot(path=artifacts / "ton-pending.png", full_page=True)
        qr = await decode_qr(page, zbarimg, artifacts / "qr-ton.png")
        assert qr == f"ton://transfer/{address}?amount={_units(amount)}&text={comment}"
        await page.evaluate("window.sameDocument = true")

        payer = TonWallet(ton_node, 1_000 * NANOTONS)
        txid = await asyncio.to_thread(payer.pay, address, _units(amount), comment)
        await expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=WATCH)
        assert await page.evaluate("window.sameDocument") is True, "the page reloaded"
        await page.screenshot(path=artifacts / "ton-done.png", full_page=True)
        assert not tab.csp_violations, tab.csp_violations
    view = await gw.view(inv["id"])
    assert view["status"] == "done" and [t["txid"] for t in view["invoiceTransactions"]] == [txid]
