"""SQL for paying billing invoices over days: reopening after a lapsed quote, and expiring overdue ones."""

from __future__ import annotations

import uuid
from datetime import datetime

from coinvoice.db.connection import Conn

#: no deposit counts toward the invoice (late ones, after a quote's expiry, are the merchant's to decide)
_NOTHING_RECEIVED = (
    "NOT EXISTS (SELECT 1 FROM deposits d WHERE d.invoice_id = i.id AND d.credited"
    " AND d.state <> 'orphaned' AND NOT d.late)"
)


async def lapsed_quotes(conn: Conn, now: datetime, limit: int, invoice_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Billing invoices, locked, whose quote ran out unpaid while the invoice is not yet due."""
    rows = await conn.fetch(
        "SELECT i.id FROM invoices i WHERE i.kind = 'billing' AND i.status = 'pending' AND i.expires_at <= $1"
        " AND (i.due_at IS NULL OR i.due_at > $1) AND ($3::uuid IS NULL OR i.id = $3) AND "
        + _NOTHING_RECEIVED
        + " ORDER BY i.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
        invoice_id,
    )
    return [r["id"] for r in rows]


async def reopen(conn: Conn, invoice_id: uuid.UUID, now: datetime) -> None:
    """Retire the lapsed quote and address; the invoice is open again for the same asset (so that a late
    payment to the retired address, still bound to the invoice, is in the unit of the next quote)."""
    await conn.execute(
        "INSERT INTO quote_history SELECT q.*, a.id, $2 FROM quotes q"
        "  LEFT JOIN addresses a ON a.invoice_id = q.invoice_id AND a.retired_at IS NULL WHERE q.invoice_id = $1",
        invoice_id,
        now,
    )
    await conn.execute("DELETE FROM quotes WHERE invoice_id = $1", invoice_id)
    await conn.execute(
        "UPDATE addresses SET retired_at = $2 WHERE invoice_id = $1 AND retired_at IS NULL", invoice_id, now
    )
    await conn.execute(
        "UPDATE invoices SET status = 'created', filled_at = NULL,"
        " preset_currency = coalesce(payment_currency, preset_currency), updated_at = $2"
        " WHERE id = $1",
        invoice_id,
        now,
    )


async def expire_overdue(conn: Conn, now: datetime, limit: int) -> list[uuid.UUID]:
    """Expire open billing invoices past their due date with nothing received (a running quote may finish)."""
    rows = await conn.fetch(
        "WITH due AS (SELECT i.id FROM invoices i WHERE i.kind = 'billing' AND i.due_at <= $1"
        "   AND (i.status = 'created' OR (i.status = 'pending' AND i.expires_at <= $1)) AND "
        + _NOTHING_RECEIVED
        + "   ORDER BY i.due_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE invoices SET status = 'expired', updated_at = $1 FROM due WHERE invoices.id = due.id"
        " RETURNING invoices.id",
        now,
        limit,
    )
    return [r["id"] for r in rows]
