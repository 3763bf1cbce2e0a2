"""The whole payer journey on an anvil node: pick ETH or USDT (ERC-20), scan the EIP-681 QR, pay, watch it confirm."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from playwright.async_api import expect
from web3 import Web3

from coinvoice.workers.scheduler import JOBS
from tests.browser.tab import decode_qr, opened
from tests.chains.evm_support import USDT_DECIMALS, accept_evm, evm_settings
from tests.pay.gateway import REDIRECT_URL, Gateway

WATCH = 20_000  # ms: the watcher polls every second; anvil mines each transaction at once, then one more block
CONFIRMATIONS = 2  # so the page shows "Payment seen" (1 of 2) before "Payment received"
ETH_DECIMALS = 18


async def _evm_gateway(start_gateway, settings, anvil, pool, assets: list[str], **tokens: str) -> Gateway:
    """Role "all" with ethereum watched on ``anvil``; the merchant accepts ``assets`` there at a fresh index."""
    chosen = evm_settings(settings, anvil, tokens=tokens, confirmations=CONFIRMATIONS, poll_seconds=1.0)
    gw = await start_gateway(
        role="all",
        chains=chosen.chains,
        confirmations=chosen.confirmations,
        token_contracts=chosen.token_contracts,
        fixed_rates=chosen.fixed_rates,
    )
    assert "watch-ethereum" in [job.name for job in gw.app[JOBS]], "the app schedules the ethereum watcher"
    # the node is shared by the session: accept_evm starts at an index no other test derives
    await accept_evm(gw.api, gw.company, pool, "ethereum", assets)
    return gw


async def _choose(tab: Any, gw: Gateway, invoice_id: str, label: str) -> tuple[str, str]:
    """Fill the form with ``label`` and return the address and amount the page then shows."""
    page = tab.page
    await tab.open(gw, invoice_id)
    await page.get_by_label("Your email").fill("payer@example.com")
    await page.get_by_label(label).check()
    await page.get_by_role("button", name="Continue to payment").click()
    await expect(page.get_by_role("heading", name="Send your payment")).to_be_visible()
    await expect(page.locator("#asset")).to_have_text(label)
    address = await page.locator("#address").inner_text()
    amount = await page.locator("#amount").inner_text()
    assert Web3.is_checksum_address(address), address
    assert Decimal(amount) > 0
    return address, amount


def _units(amount: str, decimals: int) -> int:
    units = Decimal(amount).scaleb(decimals)
    assert units == units.to_integral_value(), f"{amount} has more than {decimals} decimals"
    return int(units)


async def _watch_it_confirm(page: Any, anvil, artifacts, name: str) -> None:
    """Seen with one confirmation (the block anvil mined for it), done after one more block: all without a reload."""
    await expect(page.get_by_role("heading", name="Payment seen")).to_be_visible(timeout=WATCH)
    await expect(page.locator(".conf")).to_have_text(f"1 of {CONFIRMATIONS} confirmations")
    await expect(page.locator(".txs a")).to_have_count(0)  # no public explorer link for a regtest transaction
    await page.screenshot(path=artifacts / f"{name}-processing.png", full_page=True)

    await asyncio.to_thread(anvil.mine, 1)
    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=WATCH)
    assert await page.evaluate("window.sameDocument") is True, "the page reloaded"
    await page.screenshot(path=artifacts / f"{name}-done.png", full_page=True)
    await page.wait_for_url(REDIRECT_URL, timeout=10_000)


async def test_payer_pays_an_eth_invoice_and_sees_it_done_then_returns_to_the_shop(
    browser, start_gateway, settings, anvil, pool, artifacts, zbarimg
):
    gw = await _evm_gateway(start_gateway, settings, anvil, pool, ["eth"])
    inv = await gw.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        address, amount = await _choose(tab, gw, inv["id"], "ETH (Ethereum)")
        wei = _units(amount, ETH_DECIMALS)
        await page.screenshot(path=artifacts / "anvil-eth-pending.png", full_page=True)
        qr = await decode_qr(page, zbarimg, artifacts / "qr-anvil-eth.png")
        assert qr == f"ethereum:{address}@{anvil.chain_id}?value={wei}"
        await page.evaluate("window.sameDocument = true")

        before = await asyncio.to_thread(anvil.balance, address)
        txhash = await asyncio.to_thread(anvil.send_eth, address, wei, 4)
        assert await asyncio.to_thread(anvil.balance, address) == before + wei
        await _watch_it_confirm(page, anvil, artifacts, "anvil-eth")
        assert not tab.csp_violations, tab.csp_violations
    view = await gw.view(inv["id"])
    assert view["status"] == "done"
    assert [t["txid"].lower() for t in view["invoiceTransactions"]] == [txhash.lower()]


async def test_payer_pays_usdt_erc20_and_the_qr_is_a_token_transfer_call(
    browser, start_gateway, settings, anvil, pool, artifacts, zbarimg
):
    token = await asyncio.to_thread(anvil.deploy, "TestToken", "Tether USD", "USDT", USDT_DECIMALS)
    gw = await _evm_gateway(start_gateway, settings, anvil, pool, ["usdt"], usdterc20=token)
    inv = await gw.create_invoice()
    async with opened(browser) as tab:
        page = tab.page
        address, amount = await _choose(tab, gw, inv["id"], "USDT (ERC-20)")
        units = _units(amount, USDT_DECIMALS)
        await page.screenshot(path=artifacts / "anvil-usdt-pending.png", full_page=True)
        qr = await decode_qr(page, zbarimg, artifacts / "qr-anvil-usdt.png")
        assert qr == f"ethereum:{token}@{anvil.chain_id}/transfer?address={address}&uint256={units}"
        await expect(page.get_by_role("link", name="Open in wallet")).to_have_attribute("href", qr)
        assert await page.locator("#contract").inner_text() == token  # a payer who copies instead of scanning
        await page.evaluate("window.sameDocument = true")

        payer = anvil.accounts[5].address
        await asyncio.to_thread(anvil.mint, token, payer, units)
        txhash = await asyncio.to_thread(anvil.token_transfer, token, address, units, 5)
        assert await asyncio.to_thread(anvil.token_balance, token, address) == units
        await _watch_it_confirm(page, anvil, artifacts, "anvil-usdt")
        assert not tab.csp_violations, tab.csp_violations
    view = await gw.view(inv["id"])
    assert view["status"] == "done"
    assert [t["txid"].lower() for t in view["invoiceTransactions"]] == [txhash.lower()]
