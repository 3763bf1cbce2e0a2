"""Writing events to the outbox, inside the caller's transaction, with a snapshot of the invoice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from coinvoice.config import Settings
from coinvoice.db import deposits as db_deposits
from coinvoice.db import events as db_events
from coinvoice.db import invoices as db_invoices
from coinvoice.db.connection import Conn
from coinvoice.domain.billing import solidgate_type
from coinvoice.domain.invoice import Status
from coinvoice.domain.state import Event
from coinvoice.logcontext import REQUEST_ID
from coinvoice.services.mail import queue_email
from coinvoice.services.views import deposit_view, invoice_view, wire_time


def event_payload(event_id: uuid.UUID, event: Event, view: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The webhook body of an event: the Solopayment fields plus id, type, time and an invoice snapshot."""
    return {
        "eventId": str(event_id),
        "type": event.type,
        "eventType": solidgate_type(event.type),
        "invoiceId": view["id"],
        "status": event.status.value,
        "message": event.message,
        "createdAt": wire_time(now),
        "invoice": view,
    }


async def record(
    conn: Conn,
    event_id: uuid.UUID,
    company_id: uuid.UUID,
    invoice_id: uuid.UUID | None,
    type: str,
    status: Status | None,
    payload: dict[str, Any],
    now: datetime,
) -> uuid.UUID:
    """The outbox row of an event (an invoice's, or a company's own when ``invoice_id`` is None), with the id of
    the request that caused it (for the sender's log lines)."""
    await db_events.insert_event(
        conn,
        event_id=event_id,
        company_id=company_id,
        invoice_id=invoice_id,
        type=type,
        status=status.value if status is not None else None,
        payload=payload,
        created_at=now,
        request_id=REQUEST_ID.get(),
    )
    return event_id


async def emit(conn: Conn, settings: Settings, invoice_id: uuid.UUID, event: Event) -> uuid.UUID:
    """Record ``event`` for an invoice; call inside the transaction that made the change."""
    return (await emit_with_view(conn, settings, invoice_id, event))[0]


async def emit_with_view(
    conn: Conn, settings: Settings, invoice_id: uuid.UUID, event: Event
) -> tuple[uuid.UUID, dict[str, Any]]:
    """``emit``, also returning the invoice view the event carries (the state just written), so that a caller
    answering with it need not read the invoice again."""
    row = await db_invoices.fetch_view_row(conn, invoice_id)
    assert row is not None, "events are emitted for existing invoices"
    now = datetime.now(UTC)
    event_id = uuid.uuid4()
    view = invoice_view(row, settings)
    payload = event_payload(event_id, event, view, now)
    if event.type == "invoice.done" and settings.smtp is not None and row["client_email"]:
        await queue_email(conn, settings, row["company_id"], "receipt", row["client_email"], view)
    await record(conn, event_id, row["company_id"], invoice_id, event.type, event.status, payload, now)
    return event_id, view


async def emit_deposit_event(
    conn: Conn,
    settings: Settings,
    type: str,
    deposit_id: uuid.UUID,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Record an event about one deposit (``deposit.not_credited``); call inside the transaction that wrote it.
    ``extra`` adds fields to the payload (a merchant decision's message)."""
    row = await db_deposits.fetch_deposit(conn, deposit_id)
    assert row is not None, "events are emitted for existing deposits"
    event_id = uuid.uuid4()
    payload = {
        "eventId": str(event_id),
        "type": type,
        "eventType": solidgate_type(type),
        "invoiceId": str(row["invoice_id"]) if row["invoice_id"] else None,
        "createdAt": wire_time(now),
        "deposit": deposit_view(row, settings),
    } | (extra or {})
    return await record(conn, event_id, row["company_id"], row["invoice_id"], type, None, payload, now)


async def emit_credited(
    conn: Conn, settings: Settings, invoice_id: uuid.UUID, deposit_id: uuid.UUID, now: datetime
) -> uuid.UUID:
    """``invoice.payment_received``: one deposit credited to an any-amount invoice, with the deposit and the
    invoice snapshot (its running total received included); call inside the transaction that wrote it."""
    deposit = await db_deposits.fetch_deposit(conn, deposit_id)
    row = await db_invoices.fetch_view_row(conn, invoice_id)
    assert deposit is not None and row is not None, "events are emitted for existing deposits"
    view = invoice_view(row, settings)
    dep = deposit_view(deposit, settings)
    event = Event(
        "invoice.payment_received", Status(row["status"]), f"Payment of {dep['amount']} {dep['asset']} received"
    )
    event_id = uuid.uuid4()
    payload = event_payload(event_id, event, view, now) | {"deposit": dep}
    return await record(conn, event_id, row["company_id"], invoice_id, event.type, event.status, payload, now)
