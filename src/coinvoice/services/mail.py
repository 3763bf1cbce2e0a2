"""Queueing emails in the transaction that decides them: the invoice to its customer, the receipt to the payer."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from coinvoice.config import Settings
from coinvoice.db import email_outbox as db
from coinvoice.db.connection import Conn
from coinvoice.logcontext import REQUEST_ID
from coinvoice.mail.render import render


def _context(view: Mapping[str, Any]) -> dict[str, Any]:
    content = view["invoiceContent"]
    details = view.get("paymentDetails") or {}
    return {
        "company": view["company"]["name"],
        "reference": view.get("reference"),
        "lines": view.get("lineItems")
        or [
            {"name": i["name"], "quantity": 1, "unitAmount": i["price"], "amount": i["price"]} for i in content["items"]
        ],
        "currency": content["invoiceCurrency"].upper(),
        "total": content["total"],
        "due_date": (view.get("dueDate") or "")[:10] or None,
        "notes": view.get("notes"),
        "url": view.get("hostedUrl") or "",
        "paid": details.get("received"),
        "asset": (content.get("paymentCurrency") or "").upper(),
        "transactions": [t["txHash"] or t["txid"] for t in view.get("invoiceTransactions", [])],
    }


async def queue_email(
    conn: Conn, settings: Settings, company_id: uuid.UUID, kind: str, to: str, view: Mapping[str, Any]
) -> uuid.UUID:
    context = _context(view)
    if not context["url"]:
        context["url"] = f"{settings.public_url}/{view['id']}"
    message = render(kind, context)
    return await db.enqueue(
        conn,
        company_id=company_id,
        invoice_id=uuid.UUID(view["id"]),
        kind=kind,
        to_address=to,
        subject=message.subject,
        text_body=message.text,
        html_body=message.html,
        request_id=REQUEST_ID.get(),
    )
