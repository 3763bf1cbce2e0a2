"""The TRON watcher on the java-tron stand-in: TRX and TRC-20 USDT paid exactly, under, topped up and over; a fake
USDT, a TRC-10 token and TRX on a USDT invoice recorded, not credited; a reverted transfer records nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.web.pay.model import build_page
from tests.chains.evm_support import address_of, due_units, status_of
from tests.chains.tron_support import TRX_DECIMALS, USDT_DECIMALS, deposits_of, funded_payer, with_trx_rate
from tests.chains.watch_support import event_types, filled_invoice


@pytest.fixture
def settings(settings):
    """The shared test settings plus a eur -> trx rate, so trx invoices can be filled here."""
    return with_trx_rate(settings)


async def listed_deposits(api, merchant, invoice_id: str) -> list[dict]:
    status, page = await api.call("GET", f"/api/company/deposits?invoiceId={invoice_id}", token=merchant["publicToken"])
    assert status == 200, page
    return page["items"]


async def test_exact_trx_payment_makes_the_invoice_done(api, tron_merchant, pool, tron_node, tron_watcher_):
    view = await filled_invoice(api, tron_merchant, "trx")
    address = address_of(view)
    assert address.startswith("T")
    txid = funded_payer(tron_node).send_trx(address, due_units(view, TRX_DECIMALS))
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_of(pool, address)
    assert (dep["txid"], dep["asset"], dep["contract"], dep["output_index"], dep["credited"]) == (
        txid,
        "trx",
        None,
        -1,
        True,
    )
    assert dep["block_height"] == tron_node.height()
    assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]


async def test_exact_trc20_usdt_payment_makes_the_invoice_done(
    api, tron_merchant, pool, tron_node, tron_watcher_, trc20_usdt
):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    units = due_units(view, USDT_DECIMALS)
    txid = funded_payer(tron_node, tokens={trc20_usdt: units}).send_token(trc20_usdt, address_of(view), units)
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["txid"], dep["asset"], dep["contract"], int(dep["amount_units"])) == (
        txid,
        "trc20usdt",
        trc20_usdt,
        units,
    )
    assert dep["output_index"] == 0  # the Transfer log's position in its transaction
    [listed] = await listed_deposits(api, tron_merchant, view["id"])
    assert listed["chain"] == "tron" and listed["credited"] is True and listed["contract"] == trc20_usdt


async def test_usdt_underpaid_is_wrong_then_a_top_up_makes_it_done(
    api, tron_merchant, pool, tron_node, tron_watcher_, trc20_usdt
):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    units = due_units(view, USDT_DECIMALS)
    payer = funded_payer(tron_node, tokens={trc20_usdt: units})
    payer.send_token(trc20_usdt, address_of(view), units - 1_000)
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "wrong"
    _, body = await api.call("GET", f"/api/invoices/v1/regular/{view['id']}")
    assert body["paymentDetails"]["remaining"] == "0.001"
    payer.send_token(trc20_usdt, address_of(view), 1_000)
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"
    assert len(await deposits_of(pool, address_of(view))) == 2
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.wrong",
        "invoice.done",
    ]


async def test_usdt_overpaid_is_done_and_records_the_whole_amount(
    api, tron_merchant, pool, tron_node, tron_watcher_, trc20_usdt
):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    units = due_units(view, USDT_DECIMALS) + 5_000_000
    funded_payer(tron_node, tokens={trc20_usdt: units}).send_token(trc20_usdt, address_of(view), units)
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"
    _, body = await api.call("GET", f"/api/invoices/v1/regular/{view['id']}")
    assert Decimal(body["paymentDetails"]["received"]) == Decimal(units).scaleb(-USDT_DECIMALS)
    [dep] = await deposits_of(pool, address_of(view))
    assert int(dep["amount_units"]) == units


async def test_a_second_contract_named_usdt_is_an_unknown_token_listed_not_credited(
    api, tron_merchant, pool, tron_node, tron_watcher_, fake_trc20_usdt
):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    units = due_units(view, USDT_DECIMALS)
    funded_payer(tron_node, tokens={fake_trc20_usdt: units}).send_token(fake_trc20_usdt, address_of(view), units)
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "pending"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["asset"], dep["contract"], dep["credited"], dep["reason"]) == (
        None,
        fake_trc20_usdt,
        False,
        "unknown_token",
    )
    [listed] = await listed_deposits(api, tron_merchant, view["id"])
    assert (listed["credited"], listed["reason"], listed["asset"], listed["amount"]) == (
        False,
        "unknown_token",
        None,
        None,
    )
    assert listed["contract"] == fake_trc20_usdt and listed["amountUnits"] == str(units)
    assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "deposit.not_credited"]


async def test_a_trc10_token_is_an_unknown_token_listed_not_credited(
    api, tron_merchant, pool, tron_node, tron_watcher_
):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    payer = funded_payer(tron_node)
    tron_node.issue_trc10("1002000", payer.address, 10**9)
    txid = payer.send_trc10(address_of(view), "1002000", due_units(view, USDT_DECIMALS))
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "pending"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["txid"], dep["output_index"], dep["asset"], dep["contract"], dep["reason"]) == (
        txid,
        -1,
        None,
        "1002000",
        "unknown_token",
    )
    [listed] = await listed_deposits(api, tron_merchant, view["id"])
    assert (listed["credited"], listed["reason"], listed["contract"]) == (False, "unknown_token", "1002000")


async def test_trx_sent_to_a_usdt_invoice_is_the_wrong_asset(api, tron_merchant, pool, tron_node, tron_watcher_):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    funded_payer(tron_node).send_trx(address_of(view), 50 * 10**6)
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "pending"
    [listed] = await listed_deposits(api, tron_merchant, view["id"])
    assert (listed["asset"], listed["amount"], listed["credited"], listed["reason"]) == (
        "trx",
        "50",
        False,
        "wrong_asset",
    )


async def test_a_reverted_trc20_transfer_records_nothing_and_a_real_payment_still_counts(
    api, tron_merchant, pool, tron_node, tron_watcher_, trc20_usdt
):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    units = due_units(view, USDT_DECIMALS)
    payer = funded_payer(tron_node, tokens={trc20_usdt: units - 1})
    payer.send_token(trc20_usdt, address_of(view), units)  # more than it holds: mined as REVERT
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "pending"
    assert await deposits_of(pool, address_of(view)) == []
    assert await listed_deposits(api, tron_merchant, view["id"]) == []
    tron_node.mint(trc20_usdt, payer.address, 1)
    payer.send_token(trc20_usdt, address_of(view), units)
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"


async def test_confirmations_count_up_to_the_setting_before_done(
    api, tron_merchant, pool, tron_node, tron_cfg, session
):
    from dataclasses import replace

    from tests.chains.tron_support import tron_watcher

    settings = replace(tron_cfg, confirmations={**tron_cfg.confirmations, "trx": 3})
    watcher = tron_watcher(settings, pool, session)
    try:
        await watcher.poll()
        view = await filled_invoice(api, tron_merchant, "trx")
        funded_payer(tron_node).send_trx(address_of(view), due_units(view, TRX_DECIMALS))
        await watcher.poll()
        assert await status_of(api, view["id"]) == "processing"
        tron_node.mine(2)
        await watcher.poll()
        assert await status_of(api, view["id"]) == "done"
        [dep] = await deposits_of(pool, address_of(view))
        assert dep["invoice_id"] == uuid.UUID(view["id"])
    finally:
        await watcher.close()


async def test_the_page_offers_a_tron_uri_for_trx_and_the_bare_address_for_usdt(api, tron_merchant, tron_cfg):
    for code, expected in (("trx", "tron:{address}?amount={amount}"), ("trc20usdt", "{address}")):
        view = await filled_invoice(api, tron_merchant, code)
        page = build_page(view, (PAYMENT_ASSETS[code],), tron_cfg)
        assert page.payment is not None
        amount = view["paymentDetails"]["amount"]
        assert page.payment.uri == expected.format(address=address_of(view), amount=amount)
