"""The UTXO watcher moving invoices by real litecoind regtest payments, read back through the HTTP API."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from tests.chains.watch_support import (
    address_of,
    deposit_rows,
    due,
    event_types,
    expire_invoice,
    ltc_invoice,
    make_watcher,
    pay_in_two_outputs,
    view_of,
    watch_settings,
)


async def test_exact_payment_goes_processing_from_the_mempool_then_done_when_mined(
    api, merchant, pool, litecoind, watcher
):
    view = await ltc_invoice(api, merchant)
    txid = litecoind.send(address_of(view), due(view))

    await watcher.poll()
    seen = await view_of(api, view["id"])
    assert seen["status"] == "processing"
    [tx] = seen["invoiceTransactions"]
    assert (tx["amount"], tx["asset"], tx["confirmations"]) == (view["paymentDetails"]["amount"], "ltc", 0)
    assert tx["txHash"] == f"https://litecoinspace.org/tx/{txid}"
    assert tx["createdAt"].endswith("Z") and uuid.UUID(tx["id"])

    litecoind.mine(1)
    await watcher.poll()
    done = await view_of(api, view["id"])
    assert done["status"] == "done"
    assert done["invoiceTransactions"][0]["confirmations"] == 1
    assert done["paymentDetails"]["received"] == view["paymentDetails"]["amount"]
    assert done["paymentDetails"]["remaining"] == "0"
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.processing",
        "invoice.done",
    ]

    litecoind.mine(2)
    await watcher.poll()
    assert (await view_of(api, view["id"]))["invoiceTransactions"][0]["confirmations"] == 3


async def test_underpaid_invoice_becomes_wrong_and_a_top_up_makes_it_done(api, merchant, pool, litecoind, watcher):
    view = await ltc_invoice(api, merchant)
    first = (due(view) * Decimal("0.6")).quantize(Decimal("0.00000001"))
    litecoind.send(address_of(view), first)
    litecoind.mine(1)
    await watcher.poll()
    wrong = await view_of(api, view["id"])
    assert wrong["status"] == "wrong"
    assert Decimal(wrong["paymentDetails"]["remaining"]) == due(view) - first

    litecoind.send(address_of(view), due(view) - first)
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "processing"
    litecoind.mine(1)
    await watcher.poll()
    done = await view_of(api, view["id"])
    assert done["status"] == "done"
    assert len(done["invoiceTransactions"]) == 2
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.wrong",
        "invoice.processing",
        "invoice.done",
    ]


async def test_underpayment_within_the_company_limit_is_done(api, merchant, pool, litecoind, watcher):
    await pool.execute(
        "UPDATE company_assets SET underpay_static = 0.001 WHERE company_id = $1 AND asset = 'ltc'",
        uuid.UUID(merchant["id"]),
    )
    view = await ltc_invoice(api, merchant)
    litecoind.send(address_of(view), due(view) - Decimal("0.001"))
    litecoind.mine(1)
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "done"


async def test_overpaid_invoice_is_done_and_shows_the_excess(api, merchant, litecoind, watcher):
    view = await ltc_invoice(api, merchant)
    litecoind.send(address_of(view), due(view) + Decimal("0.5"))
    litecoind.mine(1)
    await watcher.poll()
    done = await view_of(api, view["id"])
    assert done["status"] == "done"
    assert Decimal(done["paymentDetails"]["received"]) == due(view) + Decimal("0.5")
    assert done["paymentDetails"]["remaining"] == "0"


async def test_two_outputs_of_one_transaction_add_up(api, merchant, pool, litecoind, watcher):
    view = await ltc_invoice(api, merchant)
    half = (due(view) / 2).quantize(Decimal("0.00000001"))
    txid = pay_in_two_outputs(litecoind, address_of(view), half, due(view) - half)

    await watcher.poll()
    litecoind.mine(1)
    await watcher.poll()
    done = await view_of(api, view["id"])
    assert done["status"] == "done"
    rows = await deposit_rows(pool, view["id"])
    assert [r["txid"] for r in rows] == [txid, txid]
    assert len({r["output_index"] for r in rows}) == 2
    assert sum(int(r["amount_units"]) for r in rows) == int(due(view) * 10**8)


async def test_confirmations_setting_holds_an_invoice_in_processing(api, merchant, pool, session, litecoind, settings):
    watcher = make_watcher(watch_settings(settings, litecoind, confirmations=2), pool, session, litecoind)
    try:
        await watcher.poll()
        view = await ltc_invoice(api, merchant)
        litecoind.send(address_of(view), due(view))
        litecoind.mine(1)
        await watcher.poll()
        assert (await view_of(api, view["id"]))["status"] == "processing"
        litecoind.mine(1)
        await watcher.poll()
        assert (await view_of(api, view["id"]))["status"] == "done"
    finally:
        await watcher.close()


async def test_payment_after_expiry_is_recorded_and_reported_as_late(
    api, merchant, pool, litecoind, watcher, ltc_settings
):
    view = await ltc_invoice(api, merchant)
    await expire_invoice(pool, ltc_settings, view["id"], timedelta(minutes=1))
    litecoind.send(address_of(view), due(view))
    await watcher.poll()
    litecoind.mine(1)
    await watcher.poll()

    late = await view_of(api, view["id"])
    assert late["status"] == "expired"
    [tx] = late["invoiceTransactions"]
    assert tx["late"] is True and tx["confirmations"] == 1
    assert late["paymentDetails"]["received"] == "0"  # a late payment does not pay the invoice
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.expired",
        "invoice.late_payment",
    ]
    payload = await pool.fetchval(
        "SELECT payload FROM events WHERE invoice_id = $1 AND type = 'invoice.late_payment'", uuid.UUID(view["id"])
    )
    assert payload["status"] == "expired"
    assert view["paymentDetails"]["amount"] in payload["message"]


async def test_payment_after_the_late_window_is_recorded_not_credited_with_a_warning_and_an_event(
    api, merchant, pool, litecoind, watcher, ltc_settings, caplog
):
    view = await ltc_invoice(api, merchant)
    await expire_invoice(pool, ltc_settings, view["id"], timedelta(hours=ltc_settings.late_payment_hours + 1))
    litecoind.send(address_of(view), due(view))
    with caplog.at_level(logging.WARNING, logger="coinvoice.services.deposits"):
        await watcher.poll()
    assert [r["late"] for r in await deposit_rows(pool, view["id"])] == [True]
    assert "after the 24.0h monitoring window" in caplog.text
    assert view["id"] in caplog.text
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.expired",
        "deposit.not_credited",
    ]
    reason = await pool.fetchval("SELECT reason FROM deposits WHERE invoice_id = $1", uuid.UUID(view["id"]))
    assert reason == "after_late_window"
    litecoind.mine(1)
