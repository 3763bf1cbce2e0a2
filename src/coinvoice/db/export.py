"""SQL for the invoice export: one flat row per invoice, read through a server-side cursor (never all at once)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

from coinvoice.db.connection import Conn

EXPORT_SQL = """
SELECT i.id, i.kind, i.status, i.reference, i.invoice_currency, i.total, i.payment_currency,
       q.decimals, q.due_units::text AS due_units,
       (SELECT coalesce(sum(d.amount_units), 0)::text FROM deposits d
         WHERE d.invoice_id = i.id AND d.credited AND d.state <> 'orphaned' AND NOT d.late) AS received_units,
       i.client_email, i.customer->>'email' AS customer_email, i.metadata,
       i.created_at, i.finalized_at, i.due_at, i.expires_at, i.updated_at
  FROM invoices i LEFT JOIN quotes q ON q.invoice_id = i.id
 WHERE i.company_id = $1 AND i.deleted_at IS NULL AND ($2::text[] IS NULL OR i.status = ANY($2))
   AND ($3::timestamptz IS NULL OR i.created_at >= $3) AND ($4::timestamptz IS NULL OR i.created_at < $4)
 ORDER BY i.created_at DESC, i.id DESC
"""


async def export_rows(
    conn: Conn,
    company_id: uuid.UUID,
    statuses: list[str] | None,
    created_from: datetime | None,
    created_to: datetime | None,
    prefetch: int = 500,
) -> AsyncIterator[asyncpg.Record]:
    """The company's invoices, newest first; call inside a transaction (the cursor lives in it)."""
    async for row in conn.cursor(EXPORT_SQL, company_id, statuses, created_from, created_to, prefetch=prefetch):
        yield row
