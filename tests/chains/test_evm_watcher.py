"""The EVM watcher on a real anvil node: ETH and an ERC-20 (test USDT) paid, under, over, wrong and fake."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.chains.evm_support import (
    USDT_DECIMALS,
    accept_evm,
    address_of,
    deposits_of,
    due_units,
    evm_settings,
    evm_watcher,
    filled_invoice,
    status_of,
)
from tests.chains.watch_support import event_types


@pytest.fixture(scope="session")
def usdt(anvil) -> str:
    """The test USDT contract (6 decimals), configured as usdterc20."""
    return anvil.deploy("TestToken", "Tether USD", "USDT", USDT_DECIMALS)


@pytest.fixture(scope="session")
def fake_usdt(anvil) -> str:
    """A second contract that also calls itself USDT: never configured, never credited."""
    return anvil.deploy("TestToken", "Tether USD", "USDT", USDT_DECIMALS)


@pytest.fixture(scope="session")
def forwarder(anvil) -> str:
    return anvil.deploy("Forwarder")


@pytest.fixture
def eth_settings(settings, anvil, usdt):
    return evm_settings(settings, anvil, tokens={"usdterc20": usdt})


@pytest.fixture
async def merchant(api, company, pool):
    await accept_evm(api, company, pool, "ethereum", ["eth", "usdt"])
    return company


@pytest.fixture
async def watcher(eth_settings, pool, session):
    watcher = evm_watcher(eth_settings, pool, http=session)  # the app's shared session, as the registry passes it
    try:
        await watcher.poll()
        assert watcher.misconfigured is None
        yield watcher
    finally:
        await watcher.close()


async def test_exact_eth_payment_makes_the_invoice_done(api, merchant, pool, anvil, watcher):
    view = await filled_invoice(api, merchant, "eth")
    anvil.send_eth(address_of(view), due_units(view, 18))
    await watcher.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["asset"], dep["contract"], dep["output_index"], dep["credited"]) == ("eth", None, -1, True)
    assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]


async def test_exact_usdt_payment_makes_the_invoice_done(api, merchant, pool, anvil, watcher, usdt):
    view = await filled_invoice(api, merchant, "usdterc20")
    units = due_units(view, USDT_DECIMALS)
    anvil.mint(usdt, anvil.accounts[1].address, units)
    anvil.token_transfer(usdt, address_of(view), units, sender=1)
    await watcher.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["asset"], dep["contract"], int(dep["amount_units"])) == ("usdterc20", usdt, units)
    assert dep["output_index"] >= 0  # the log index


async def test_usdt_underpaid_is_wrong_then_a_top_up_makes_it_done(api, merchant, pool, anvil, watcher, usdt):
    view = await filled_invoice(api, merchant, "usdterc20")
    units = due_units(view, USDT_DECIMALS)
    anvil.mint(usdt, anvil.accounts[2].address, units)
    anvil.token_transfer(usdt, address_of(view), units - 1_000, sender=2)
    await watcher.poll()
    assert await status_of(api, view["id"]) == "wrong"
    _, body = await api.call("GET", f"/api/invoices/v1/regular/{view['id']}")
    assert body["paymentDetails"]["remaining"] == "0.001"
    anvil.token_transfer(usdt, address_of(view), 1_000, sender=2)
    await watcher.poll()
    assert await status_of(api, view["id"]) == "done"
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.wrong",
        "invoice.done",
    ]


async def test_usdt_overpaid_is_done_and_records_the_whole_amount(api, merchant, pool, anvil, watcher, usdt):
    view = await filled_invoice(api, merchant, "usdterc20")
    units = due_units(view, USDT_DECIMALS) + 5_000_000
    anvil.mint(usdt, anvil.accounts[3].address, units)
    anvil.token_transfer(usdt, address_of(view), units, sender=3)
    await watcher.poll()
    assert await status_of(api, view["id"]) == "done"
    _, body = await api.call("GET", f"/api/invoices/v1/regular/{view['id']}")
    assert Decimal(body["paymentDetails"]["received"]) == Decimal(units).scaleb(-USDT_DECIMALS)
    [dep] = await deposits_of(pool, address_of(view))
    assert int(dep["amount_units"]) == units


async def test_eth_sent_to_a_usdt_invoice_is_recorded_not_credited(api, merchant, pool, anvil, watcher):
    view = await filled_invoice(api, merchant, "usdterc20")
    anvil.send_eth(address_of(view), 10**18)  # worth far more than the invoice, in wei
    await watcher.poll()
    assert await status_of(api, view["id"]) == "pending"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["asset"], dep["credited"], dep["reason"]) == ("eth", False, "wrong_asset")
    assert dep["invoice_id"] == uuid.UUID(view["id"])
    status, page = await api.call("GET", f"/api/company/deposits?invoiceId={view['id']}", token=merchant["publicToken"])
    assert status == 200, page
    [listed] = page["items"]
    assert listed["credited"] is False and listed["reason"] == "wrong_asset"
    assert listed["asset"] == "eth" and listed["amount"] == "1" and listed["amountUnits"] == str(10**18)
    assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "deposit.not_credited"]


async def test_a_second_contract_named_usdt_is_an_unknown_token(api, merchant, pool, anvil, watcher, fake_usdt):
    view = await filled_invoice(api, merchant, "usdterc20")
    units = due_units(view, USDT_DECIMALS)
    anvil.mint(fake_usdt, anvil.accounts[4].address, units)
    anvil.token_transfer(fake_usdt, address_of(view), units, sender=4)
    await watcher.poll()
    assert await status_of(api, view["id"]) == "pending"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["asset"], dep["contract"], dep["credited"], dep["reason"]) == (None, fake_usdt, False, "unknown_token")
    payload = await pool.fetchval(
        "SELECT payload FROM events WHERE invoice_id = $1 AND type = 'deposit.not_credited'", uuid.UUID(view["id"])
    )
    assert payload["deposit"]["contract"] == fake_usdt and payload["deposit"]["amount"] is None
    assert payload["deposit"]["amountUnits"] == str(units)


async def test_a_reverted_token_transfer_records_nothing(api, merchant, pool, anvil, watcher, usdt):
    view = await filled_invoice(api, merchant, "usdterc20")
    units = due_units(view, USDT_DECIMALS)
    receipt_hash = anvil.reverted_token_transfer(usdt, address_of(view), units, sender=5)  # sender holds none
    assert anvil.receipt(receipt_hash)["status"] == "0x0"
    await watcher.poll()
    assert await status_of(api, view["id"]) == "pending"
    assert await deposits_of(pool, address_of(view)) == []


async def test_eth_paid_through_a_contract_internal_call_is_credited(api, merchant, pool, anvil, watcher, forwarder):
    view = await filled_invoice(api, merchant, "eth")
    txid = anvil.forward(forwarder, address_of(view), due_units(view, 18))
    await watcher.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_of(pool, address_of(view))
    assert (dep["txid"], dep["output_index"], dep["credited"]) == (txid, -2, True)


async def test_an_internal_transfer_of_a_reverted_transaction_does_not_count(
    api, merchant, pool, anvil, watcher, forwarder
):
    view = await filled_invoice(api, merchant, "eth")
    anvil.forward_then_revert(forwarder, address_of(view), due_units(view, 18))
    await watcher.poll()
    assert await status_of(api, view["id"]) == "pending"
    assert await deposits_of(pool, address_of(view)) == []


async def test_internal_transfers_are_missed_when_tracing_is_turned_off(
    api, merchant, pool, anvil, eth_settings, forwarder
):
    settings = evm_settings(eth_settings, anvil, internal_transfers=False)
    watcher = evm_watcher(settings, pool)
    try:
        await watcher.poll()
        view = await filled_invoice(api, merchant, "eth")
        anvil.forward(forwarder, address_of(view), due_units(view, 18))
        await watcher.poll()
        assert await status_of(api, view["id"]) == "pending"
    finally:
        await watcher.close()
