"""Webhook deliveries as the merchant sees them: the list with recent attempts, and redelivery."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from coinvoice.db import webhooks as db
from coinvoice.domain.errors import Invalid, NotFound
from coinvoice.services.views import wire_time

STATES = ("pending", "delivered", "failed")
MAX_LIMIT = 100


def delivery_wire(row: asyncpg.Record) -> dict[str, Any]:
    pending = row["state"] == "pending"
    return {
        "id": str(row["id"]),
        "eventId": str(row["event_id"]),
        "invoiceId": str(row["invoice_id"]) if row["invoice_id"] else None,
        "type": row["type"],
        "state": row["state"],
        "attempts": row["attempt_count"],
        "nextAttemptAt": wire_time(row["next_attempt_at"]) if pending else None,
        "lastStatusCode": row["last_status_code"],
        "lastError": row["last_error"],
        "deliveredAt": wire_time(row["delivered_at"]),
        "createdAt": wire_time(row["created_at"]),
        "recentAttempts": [{**a, "attemptedAt": wire_time(a["attemptedAt"])} for a in row["recent_attempts"]],
    }


async def list_deliveries(
    pool: asyncpg.Pool,
    company_id: uuid.UUID,
    *,
    state: str | None = None,
    invoice_id: uuid.UUID | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first; pass ``nextCursor`` back as ``cursor`` for the next page."""
    if state is not None and state not in STATES:
        raise Invalid("invalid_state", f"state must be one of {', '.join(STATES)}", "state")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("out_of_range", f"limit must be between 1 and {MAX_LIMIT}", "limit")
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise Invalid("invalid_cursor", "cursor is not one this API returned", "cursor")
    rows = await db.list_deliveries(
        pool,
        company_id,
        state=state,
        invoice_id=invoice_id,
        before_seq=int(cursor) if cursor else None,
        limit=limit + 1,
    )
    page = rows[:limit]
    more = len(rows) > limit
    return {"items": [delivery_wire(r) for r in page], "nextCursor": str(page[-1]["event_seq"]) if more else None}


async def redeliver(pool: asyncpg.Pool, company_id: uuid.UUID, delivery_id: uuid.UUID) -> dict[str, Any]:
    """Send a delivery again (delivered, failed or waiting for a retry) as soon as a sender is free."""
    async with pool.acquire() as conn, conn.transaction():
        if not await db.redeliver(conn, company_id, delivery_id):
            raise NotFound("delivery_not_found", "no webhook delivery with this id", "id")
        row = await db.get_delivery(conn, company_id, delivery_id)
    return delivery_wire(row)
