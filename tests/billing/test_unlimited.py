"""Any-amount invoices through the HTTP API on real PostgreSQL and litecoind: every deposit is credited as it
arrives and reported by a signed webhook, the total is their sum, and the payer page names no amount."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest

from coinvoice.services.unlimited import close_ended_windows
from tests.billing.helpers import second_company
from tests.chains.watch_support import address_of, event_types
from tests.webhooks.helpers import check_signed

pytestmark = pytest.mark.usefixtures("litecoind")
UNLIMITED = "/api/invoices/v1/unlimited"
PROCEED = "/api/invoices/v1/regular/{}/proceed"


async def create(api, token: str, **body) -> dict:
    status, view = await api.call("POST", UNLIMITED, token=token, json_body=body)
    assert status == 201, view
    return view


async def fill(api, invoice_id: str, code: str | None = None) -> dict:
    body = {"clientEmail": "donor@example.com", **({"paymentCurrency": code} if code else {})}
    status, view = await api.call("POST", PROCEED.format(invoice_id), json_body=body)
    assert status == 200, view
    return view


async def merchant_view(api, token: str, invoice_id: str) -> dict:
    status, view = await api.call("GET", f"{UNLIMITED}/{invoice_id}", token=token)
    assert status == 200, view
    return view


async def page(api, invoice_id: str) -> str:
    async with api.session.get(f"{api.base}/{invoice_id}") as resp:
        assert resp.status == 200
        return await resp.text()


async def test_an_any_amount_invoice_paid_twice_credits_both_and_reports_each(
    api, merchant, pool, litecoind, watcher, receiver, start_worker, settings, db_url
):
    token = merchant["publicToken"]
    status, body = await api.call(
        "PUT", "/api/company/settings/webhook-url", token=token, json_body={"webHookUrl": receiver.url}
    )
    assert status == 200, body
    inv = await create(
        api, token, paymentCurrency="LTC", description="Keep the lights on", reference="DON-7", metadata={"k": "v"}
    )
    assert (inv["kind"], inv["status"], inv["paymentCurrency"], inv["received"]) == ("unlimited", "created", "ltc", [])
    assert (inv["description"], inv["reference"], inv["metadata"]) == ("Keep the lights on", "DON-7", {"k": "v"})
    assert "total" not in inv and "invoiceContent" not in inv
    other = await second_company(settings, db_url)
    status, body = await api.call("GET", f"{UNLIMITED}/{inv['id']}", token=other["publicToken"])
    assert (status, body["error"]["code"]) == (404, "invoice_not_found")

    filled = await fill(api, inv["id"])
    assert filled["status"] == "pending" and filled["address"]["asset"] == "ltc"
    assert "metadata" not in filled and "clientEmail" not in filled  # the payer's view
    address = address_of(filled)
    html = await page(api, inv["id"])
    assert f'data-uri="litecoin:{address}"' in html  # the QR's URI names no amount
    assert "amount=" not in html and 'id="amount"' not in html
    assert "Keep the lights on" in html

    litecoind.send(address, "0.1234")
    litecoind.mine(1)
    await watcher.poll()
    litecoind.send(address, "2.5")
    await watcher.poll()  # seen in the mempool: credited at once, before any confirmation
    view = await merchant_view(api, token, inv["id"])
    assert view["status"] == "pending"
    assert view["received"] == [{"asset": "ltc", "amount": "2.6234", "confirmed": "0.1234", "count": 2}]
    assert sorted(Decimal(t["amount"]) for t in view["invoiceTransactions"]) == [Decimal("0.1234"), Decimal("2.5")]
    litecoind.mine(1)
    await watcher.poll()
    view = await merchant_view(api, token, inv["id"])
    assert view["received"] == [{"asset": "ltc", "amount": "2.6234", "confirmed": "2.6234", "count": 2}]
    assert view["clientEmail"] == "donor@example.com" and view["metadata"] == {"k": "v"}
    html = await page(api, inv["id"])
    assert re.search(r'id="received-total">2\.6234<', html), html
    assert "amount=" not in html

    rows = await pool.fetch("SELECT type, payload FROM events WHERE invoice_id = $1 ORDER BY seq", uuid.UUID(inv["id"]))
    types = [r["type"] for r in rows]
    assert types == ["invoice.created", "invoice.pending", "invoice.payment_received", "invoice.payment_received"]
    credited = [r["payload"] for r in rows[2:]]
    assert [c["deposit"]["amount"] for c in credited] == ["0.1234", "2.5"]
    assert [c["invoice"]["received"][0]["amount"] for c in credited] == ["0.1234", "2.6234"]  # the running total
    assert {c["eventType"] for c in credited} == {"INVOICE_PAYMENT_RECEIVED"}

    await start_worker()
    await receiver.wait_for(
        lambda r: sum(1 for x in r.delivered if x.payload["type"] == "invoice.payment_received") >= 2, within=15
    )
    hooks = [x for x in receiver.delivered if x.payload["type"] == "invoice.payment_received"]
    assert sorted(h.payload["deposit"]["amount"] for h in hooks) == ["0.1234", "2.5"]
    for hook in hooks:
        check_signed(hook, merchant["secretKey"])

    # the merchant closes the window: paid in full (both confirmed) -> done; a second close is a 409
    status, closed = await api.call("POST", f"{UNLIMITED}/{inv['id']}/close", token=token)
    assert (status, closed["status"]) == (200, "done"), closed
    status, body = await api.call("POST", f"{UNLIMITED}/{inv['id']}/close", token=token)
    assert (status, body["error"]["code"]) == (409, "invoice_closed")
    assert (await event_types(pool, inv["id"]))[-1] == "invoice.done"
    assert 'id="paid"' in await page(api, inv["id"])


async def test_the_window_ends_done_with_deposits_expired_without(api, merchant, pool, litecoind, watcher, settings):
    token = merchant["publicToken"]
    paid, empty = await create(api, token), await create(api, token)
    html = await page(api, paid["id"])
    assert 'name="email"' in html and 'value="ltc"' in html  # the payer picks the asset
    status, body = await api.call("POST", PROCEED.format(paid["id"]), json_body={"clientEmail": "a@example.com"})
    assert (status, body["error"]["code"]) == (400, "required")
    paid_view, empty_view = await fill(api, paid["id"], "ltc"), await fill(api, empty["id"], "ltc")
    assert paid_view["invoiceTransactions"] == [] and empty_view["status"] == "pending"
    litecoind.send(address_of(paid_view), "0.01")
    litecoind.mine(1)
    await watcher.poll()
    await pool.execute(
        "UPDATE invoices SET expires_at = now() WHERE id = ANY($1::uuid[])",
        [uuid.UUID(paid["id"]), uuid.UUID(empty["id"])],
    )
    assert await close_ended_windows(pool, settings) == 2
    assert (await merchant_view(api, token, paid["id"]))["status"] == "done"
    assert (await merchant_view(api, token, empty["id"]))["status"] == "expired"
    assert (await event_types(pool, empty["id"]))[-1] == "invoice.expired"
    assert await close_ended_windows(pool, settings) == 0


async def test_bad_input_is_a_clear_json_error_and_writes_nothing(api, merchant, pool):
    token = merchant["publicToken"]
    before = await pool.fetchval("SELECT count(*) FROM invoices")
    cases = [
        ({"paymentCurrency": "doge"}, "paymentCurrency"),
        ({"paymentCurrency": "ton"}, "paymentCurrency"),  # a shared address cannot tell donations apart
        ({"metadata": {"k": 1}}, "metadata"),
        ({"description": "x" * 2001}, "description"),
        ({"amount": "1"}, "amount"),
        ({"redirectURL": "javascript:alert(1)"}, "redirectURL"),
    ]
    for body, field in cases:
        status, error = await api.call("POST", UNLIMITED, token=token, json_body=body)
        assert status == 400, (body, error)
        assert error["error"]["field"].startswith(field), (body, error)
    status, _ = await api.call("POST", UNLIMITED, json_body={})
    assert status == 401
    assert await pool.fetchval("SELECT count(*) FROM invoices") == before
    status, body = await api.call("GET", f"{UNLIMITED}/not-a-uuid", token=token)
    assert status == 404 and body["error"]["code"] == "invoice_not_found"
