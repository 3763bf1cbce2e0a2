"""Email through a real SMTP server on 127.0.0.1 (aiosmtpd): the invoice sent to its customer with the page
link, the receipt to the payer once paid on litecoind, retries when the server is down, escaping."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from coinvoice.app import create_app
from coinvoice.config import SmtpSettings
from coinvoice.mail.sender import send_due_emails
from coinvoice.web.ops import JsonFormatter
from coinvoice.webhooks.signing import verify_signature
from tests.billing.helpers import BILLING, catalog, make
from tests.chains.watch_support import accept_litecoin, address_of, due, make_watcher
from tests.conftest import Api
from tests.webhooks.helpers import check_signed


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp(inbox) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=inbox[1], security="none", sender="billing@shop.example")


@pytest.fixture
async def mail_api(settings, smtp, db_url):
    app = create_app(replace(settings, smtp=smtp), dsn=db_url, role="api")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Api(server, session)
    await server.close()


def _parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


async def _open_invoice(api: Api, token: str) -> dict:
    objs = await catalog(api, token)
    draft = await make(
        api,
        token,
        BILLING,
        {
            "customerId": objs["customer"]["id"],
            "lineItems": [{"priceId": objs["price"]["id"], "quantity": 2}],
            "daysUntilDue": 7,
            "notes": "<script>alert(1)</script>",
        },
    )
    status, final = await api.call("POST", f"{BILLING}/{draft['id']}/finalize", token=token)
    assert status == 200, final
    return final


async def test_full_lifecycle_with_invoice_email_payment_and_receipt(
    mail_api, company, pool, inbox, smtp, ltc_settings, session, litecoind, receiver, start_worker
):
    handler, _ = inbox
    await accept_litecoin(mail_api, company, pool)
    token = company["publicToken"]
    status, body = await mail_api.call(
        "PUT", "/api/company/settings/webhook-url", token=token, json_body={"webHookUrl": receiver.url}
    )
    assert status == 200, body
    inv = await _open_invoice(mail_api, token)
    status, sent = await mail_api.call("POST", f"{BILLING}/{inv['id']}/send", token=token)
    assert status == 200, sent
    assert handler.messages == []  # never inside the request
    assert await send_due_emails(pool, smtp) == 1
    [message] = handler.messages
    assert message["To"] == "ann@example.com" and message["From"] == "billing@shop.example"
    assert message["Subject"] == "Invoice INV-000001 from Coffee & Co <b>"
    text, html = _parts(message)
    assert inv["hostedUrl"] in text and f'href="{inv["hostedUrl"]}"' in html
    assert "2 x Coffee <beans> @ 10.5 EUR = 21 EUR" in text and "Total: 21 EUR" in text
    assert "Coffee &amp; Co &lt;b&gt;" in html and "Coffee &lt;beans&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert await pool.fetchval("SELECT state FROM email_outbox WHERE invoice_id = $1", uuid.UUID(inv["id"])) == "sent"

    status, view = await mail_api.call(
        "POST",
        f"/api/invoices/v1/regular/{inv['id']}/proceed",
        json_body={"clientEmail": "payer@example.com", "paymentCurrency": "ltc"},
    )
    assert status == 200, view
    watcher = make_watcher(replace(ltc_settings, smtp=smtp), pool, session, litecoind)
    try:
        await watcher.poll()
        litecoind.send(address_of(view), due(view))
        litecoind.mine(1)
        await watcher.poll()
    finally:
        await watcher.close()
    assert await send_due_emails(pool, smtp) == 1
    receipt = handler.messages[1]
    assert receipt["To"] == "payer@example.com"
    assert receipt["Subject"] == "Receipt for INV-000001 from Coffee & Co <b>"
    text, _ = _parts(receipt)
    assert f"Paid: {due(view)} LTC" in text
    types = [
        r["type"]
        for r in await pool.fetch("SELECT type FROM events WHERE invoice_id = $1 ORDER BY seq", uuid.UUID(inv["id"]))
    ]
    assert types == ["invoice.draft", "invoice.finalized", "invoice.sent", "invoice.pending", "invoice.done"]

    # INVOICE_PAID reaches the merchant's webhook, signed as every webhook is (checked with the project's verifier)
    await start_worker()
    await receiver.wait_for(lambda r: any(x.payload["eventType"] == "INVOICE_PAID" for x in r.delivered), within=15)
    [paid] = [x for x in receiver.delivered if x.payload["eventType"] == "INVOICE_PAID"]
    check_signed(paid, company["secretKey"])
    assert not verify_signature(paid.body, paid.headers, ["sk_not_the_merchants_key"])
    assert (paid.payload["type"], paid.payload["invoiceId"], paid.payload["status"]) == (
        "invoice.done",
        inv["id"],
        "done",
    )
    assert paid.payload["invoice"]["reference"] == "INV-000001"


async def test_a_failed_send_is_retried_later(mail_api, company, pool, inbox, smtp):
    handler, _ = inbox
    token = company["publicToken"]
    inv = await _open_invoice(mail_api, token)
    status, _ = await mail_api.call("POST", f"{BILLING}/{inv['id']}/send", token=token)
    assert status == 200
    down = replace(smtp, port=_free_port())  # nothing listens there
    assert await send_due_emails(pool, down) == 1
    row = await pool.fetchrow("SELECT state, attempts, next_attempt_at, last_error FROM email_outbox")
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert row["next_attempt_at"] > datetime.now(UTC) and row["last_error"]
    assert await send_due_emails(pool, smtp) == 0  # not due yet
    await pool.execute("UPDATE email_outbox SET next_attempt_at = now()")
    assert await send_due_emails(pool, smtp) == 1
    assert len(handler.messages) == 1
    assert await pool.fetchval("SELECT state FROM email_outbox") == "sent"


async def test_a_message_that_keeps_failing_is_given_up(mail_api, company, pool, smtp):
    token = company["publicToken"]
    inv = await _open_invoice(mail_api, token)
    await mail_api.call("POST", f"{BILLING}/{inv['id']}/send", token=token)
    down = replace(smtp, port=_free_port(), max_attempts=2)
    for _ in range(2):
        await pool.execute("UPDATE email_outbox SET next_attempt_at = now()")
        await send_due_emails(pool, down)
    assert await pool.fetchval("SELECT state FROM email_outbox") == "failed"


async def test_send_needs_an_open_invoice_and_smtp(mail_api, api, company):
    token = company["publicToken"]
    objs = await catalog(mail_api, token)
    draft = await make(
        mail_api,
        token,
        BILLING,
        {"customerId": objs["customer"]["id"], "lineItems": [{"priceId": objs["price"]["id"]}]},
    )
    status, body = await mail_api.call("POST", f"{BILLING}/{draft['id']}/send", token=token)
    assert (status, body["error"]["code"]) == (409, "invalid_state")
    status, body = await api.call("POST", f"{BILLING}/{draft['id']}/send", token=token)  # no SMTP configured
    assert (status, body["error"]["code"]) == (409, "email_not_configured")


async def test_the_mail_job_logs_the_request_id_that_queued_the_email(mail_api, company, pool, inbox, smtp, caplog):
    caplog.set_level(logging.INFO, logger="coinvoice.mail.sender")
    token = company["publicToken"]
    inv = await _open_invoice(mail_api, token)
    status, _ = await mail_api.call(
        "POST", f"{BILLING}/{inv['id']}/send", token=token, headers={"X-Request-Id": "send-77"}
    )
    assert status == 200
    assert await pool.fetchval("SELECT request_id FROM email_outbox") == "send-77"
    assert await send_due_emails(pool, smtp) == 1
    [line] = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "coinvoice.mail.sender"]
    assert line["requestId"] == "send-77" and line["invoiceId"] == inv["id"]
    assert "sent" in line["message"]
