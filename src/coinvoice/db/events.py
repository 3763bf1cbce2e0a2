"""SQL for the event outbox: one row per state change, written in the transaction of the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool


async def insert_event(
    conn: Conn,
    *,
    event_id: uuid.UUID,
    company_id: uuid.UUID,
    invoice_id: uuid.UUID | None,
    type: str,
    status: str | None,
    payload: dict[str, Any],
    created_at: datetime,
    request_id: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO events (id, company_id, invoice_id, type, status, payload, created_at, request_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        event_id,
        company_id,
        invoice_id,
        type,
        status,
        payload,
        created_at,
        request_id,
    )


async def invoice_events(conn: ConnOrPool, company_id: uuid.UUID, invoice_id: uuid.UUID) -> list[asyncpg.Record]:
    """An invoice's events, oldest first: its timeline."""
    return await conn.fetch(
        "SELECT id, type, status, payload::jsonb ->> 'message' AS message, payload::text AS payload, created_at"
        " FROM events WHERE company_id = $1 AND invoice_id = $2 ORDER BY seq",
        company_id,
        invoice_id,
    )


async def invoice_statuses(conn: ConnOrPool, company_id: uuid.UUID, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, status, updated_at FROM invoices WHERE company_id = $1 AND id = ANY($2::uuid[])", company_id, ids
    )
