"""Paying an open billing invoice on litecoind like a regular one; a fresh quote after one lapses before the
due date; past the due date the invoice expires (overdue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from coinvoice.appkeys import SETTINGS
from coinvoice.services.billing_payment import run_billing_due
from coinvoice.services.invoices import expire_due_invoices
from tests.billing.helpers import BILLING, catalog, make
from tests.chains.watch_support import address_of, due, event_types, view_of

pytestmark = pytest.mark.usefixtures("litecoind")
PROCEED = "/api/invoices/v1/regular/{}/proceed"


async def open_invoice(api, token: str, days: int = 30) -> dict:
    objs = await catalog(api, token)
    draft = await make(
        api,
        token,
        BILLING,
        {"customerId": objs["customer"]["id"], "lineItems": [{"priceId": objs["price"]["id"]}], "daysUntilDue": days},
    )
    status, final = await api.call("POST", f"{BILLING}/{draft['id']}/finalize", token=token)
    assert status == 200, final
    return final


async def fill(api, invoice_id: str, code: str | None = "ltc") -> dict:
    body = {"clientEmail": "payer@example.com", **({"paymentCurrency": code} if code else {})}
    status, view = await api.call("POST", PROCEED.format(invoice_id), json_body=body)
    assert status == 200, view
    return view


async def test_an_open_billing_invoice_is_paid_on_litecoind(api, merchant, pool, litecoind, watcher):
    token = merchant["publicToken"]
    inv = await open_invoice(api, token)
    view = await fill(api, inv["id"])
    assert view["status"] == "pending" and view["reference"] == "INV-000001"
    expires = datetime.fromisoformat(view["expiredAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)  # the quote, not the due date
    litecoind.send(address_of(view), due(view))
    litecoind.mine(1)
    await watcher.poll()
    done = await view_of(api, inv["id"])
    assert done["status"] == "done"
    status, merchant_view = await api.call("GET", f"{BILLING}/{inv['id']}", token=token)
    assert (status, merchant_view["status"], merchant_view["reference"]) == (200, "done", "INV-000001")
    rows = await pool.fetch(
        "SELECT type, payload->>'eventType' AS name FROM events WHERE invoice_id = $1 ORDER BY seq",
        uuid.UUID(inv["id"]),
    )
    assert [(r["type"], r["name"]) for r in rows] == [
        ("invoice.draft", "INVOICE_CREATED"),
        ("invoice.finalized", "INVOICE_FINALIZED"),
        ("invoice.pending", "INVOICE_PAYMENT_PENDING"),
        ("invoice.done", "INVOICE_PAID"),
    ]
    # paid: no void any more
    status, body = await api.call("POST", f"{BILLING}/{inv['id']}/void", token=token)
    assert (status, body["error"]["code"]) == (409, "invalid_state")


async def test_a_lapsed_quote_before_the_due_date_gets_a_fresh_quote_and_a_new_address(
    api, merchant, pool, litecoind, watcher
):
    token = merchant["publicToken"]
    inv = await open_invoice(api, token)
    first = await fill(api, inv["id"])
    await pool.execute(
        "UPDATE invoices SET expires_at = now() - interval '1 second' WHERE id = $1", uuid.UUID(inv["id"])
    )
    # the regular expiry job leaves billing invoices to the billing job
    assert await expire_due_invoices(pool, api.server.app[SETTINGS]) == 0
    second = await fill(api, inv["id"], code=None)  # the same asset, asked again by the payer
    assert second["status"] == "pending"
    assert address_of(second) != address_of(first)
    assert second["expiredAt"] != first["expiredAt"]
    assert await pool.fetchval("SELECT count(*) FROM quote_history WHERE invoice_id = $1", uuid.UUID(inv["id"])) == 1
    assert (await event_types(pool, inv["id"]))[-3:] == ["invoice.pending", "invoice.quote_expired", "invoice.pending"]
    # paying the new address completes it
    litecoind.send(address_of(second), due(second))
    litecoind.mine(1)
    await watcher.poll()
    assert (await view_of(api, inv["id"]))["status"] == "done"


async def test_the_billing_job_reopens_lapsed_quotes_and_expires_overdue_invoices(api, merchant, pool):
    token = merchant["publicToken"]
    settings = api.server.app[SETTINGS]
    lapsed = await open_invoice(api, token)
    await fill(api, lapsed["id"])
    overdue = await open_invoice(api, token, days=1)
    overdue_filled = await open_invoice(api, token, days=1)
    await fill(api, overdue_filled["id"])
    await pool.execute(
        "UPDATE invoices SET expires_at = now() - interval '1 second' WHERE id = ANY($1)",
        [uuid.UUID(lapsed["id"]), uuid.UUID(overdue_filled["id"])],
    )
    await pool.execute(
        "UPDATE invoices SET due_at = now() - interval '1 second' WHERE id = ANY($1)",
        [uuid.UUID(overdue["id"]), uuid.UUID(overdue_filled["id"])],
    )
    assert await run_billing_due(pool, settings) == 3
    reopened = await view_of(api, lapsed["id"])
    assert (reopened["status"], reopened["invoiceContent"]["paymentCurrency"]) == ("created", "ltc")
    assert "address" not in reopened
    for invoice_id in (overdue["id"], overdue_filled["id"]):
        assert (await view_of(api, invoice_id))["status"] == "expired"
        row = await pool.fetchrow(
            "SELECT type, payload->>'eventType' AS name FROM events WHERE invoice_id = $1 ORDER BY seq DESC LIMIT 1",
            uuid.UUID(invoice_id),
        )
        assert (row["type"], row["name"]) == ("invoice.overdue", "INVOICE_OVERDUE")
    status, body = await api.call(
        "POST", PROCEED.format(overdue["id"]), json_body={"clientEmail": "p@example.com", "paymentCurrency": "ltc"}
    )
    assert (status, body["error"]["code"]) == (409, "invoice_closed")
    # an overdue invoice can still be voided or marked uncollectible by the merchant
    status, body = await api.call("POST", f"{BILLING}/{overdue['id']}/mark-uncollectible", token=token)
    assert (status, body["status"]) == (200, "uncollectible")
    assert await run_billing_due(pool, settings) == 0
