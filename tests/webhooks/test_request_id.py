"""The X-Request-Id of a request travels with the events it causes to the webhook sender's log lines."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from coinvoice.services.invoices import expire_due_invoices
from coinvoice.web.ops import JsonFormatter
from tests.api.invoice_setup import CREATE, pending_invoice, sql
from tests.webhooks.helpers import invoice_path, later


async def test_the_sender_logs_the_request_id_and_invoice_of_each_event(
    api, hooked, receiver, db_url, start_worker, caplog
):
    caplog.set_level(logging.INFO, logger="coinvoice.webhooks.sender")
    token = hooked["publicToken"]
    body = {"invoiceCurrency": "eur", "items": [{"name": "Tea", "price": "4.20"}]}
    status, invoice = await api.call("POST", CREATE, token=token, json_body=body, headers={"X-Request-Id": "shop-1"})
    assert status == 201, invoice
    status, _ = await api.call(
        "POST",
        invoice_path(invoice["id"], "proceed"),
        json_body={"clientEmail": "payer@example.com", "paymentCurrency": "ltc"},
        headers={"X-Request-Id": "payer-2"},
    )
    assert status == 200
    await api.call("POST", CREATE, token=token, json_body=body)  # no id sent: the gateway makes one
    rows = await sql(db_url, "SELECT type, request_id, invoice_id FROM events ORDER BY seq")
    assert [(r["type"], r["request_id"]) for r in rows[:2]] == [
        ("invoice.created", "shop-1"),
        ("invoice.pending", "payer-2"),
    ]
    made = rows[2]["request_id"]
    assert made and len(made) == 32 and made not in ("shop-1", "payer-2")

    await start_worker()
    await receiver.wait_for(lambda r: len({x.payload["eventId"] for x in r.delivered}) >= 3, 15)
    for _ in range(100):  # the log line is written as the attempt finishes, just after the receiver answers
        lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "coinvoice.webhooks.sender"]
        if len(lines) >= 3:
            break
        await asyncio.sleep(0.05)
    by_request = {line.get("requestId"): line for line in lines}
    assert set(by_request) == {"shop-1", "payer-2", made}
    assert by_request["shop-1"]["invoiceId"] == invoice["id"] == by_request["payer-2"]["invoiceId"]
    assert by_request[made]["invoiceId"] == str(rows[2]["invoice_id"])
    assert "HTTP 200" in by_request["shop-1"]["message"]


async def test_events_a_worker_causes_carry_no_request_id(api, hooked, pool, settings, db_url):
    invoice = await pending_invoice(api, hooked["publicToken"])
    await expire_due_invoices(pool, settings, now=later())
    rows = await sql(
        db_url,
        "SELECT request_id FROM events WHERE invoice_id = $1 AND type = 'invoice.expired'",
        uuid.UUID(invoice["id"]),
    )
    assert [r["request_id"] for r in rows] == [None]
