"""SQL for the event outbox: one row per state change, written in the transaction of the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from coinvoice.db.connection import Conn


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
