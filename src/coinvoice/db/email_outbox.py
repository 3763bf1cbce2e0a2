"""SQL for the email outbox: enqueue in the caller's transaction, claim due messages, record the outcome."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool


async def enqueue(
    conn: Conn,
    *,
    company_id: uuid.UUID,
    invoice_id: uuid.UUID | None,
    kind: str,
    to_address: str,
    subject: str,
    text_body: str,
    html_body: str,
    request_id: str | None = None,
) -> uuid.UUID:
    email_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO email_outbox"
        " (id, company_id, invoice_id, kind, to_address, subject, text_body, html_body, request_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        email_id,
        company_id,
        invoice_id,
        kind,
        to_address,
        subject,
        text_body,
        html_body,
        request_id,
    )
    await conn.execute("SELECT pg_notify('coinvoice_email', '')")
    return email_id


async def claim_due(conn: ConnOrPool, now: datetime, lease_until: datetime, limit: int) -> list[asyncpg.Record]:
    """Take up to ``limit`` due messages; each is leased (hidden from other senders) until ``lease_until``."""
    return await conn.fetch(
        "WITH due AS (SELECT id FROM email_outbox WHERE state = 'pending' AND next_attempt_at <= $1"
        "  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)"
        " UPDATE email_outbox e SET next_attempt_at = $2, attempts = e.attempts + 1 FROM due WHERE e.id = due.id"
        " RETURNING e.*",
        now,
        lease_until,
        limit,
    )


async def mark_sent(conn: ConnOrPool, email_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE email_outbox SET state = 'sent', sent_at = $2, last_error = NULL WHERE id = $1", email_id, now
    )


async def mark_retry(conn: ConnOrPool, email_id: uuid.UUID, error: str, next_at: datetime | None) -> None:
    """Schedule another attempt at ``next_at``, or give up (None)."""
    await conn.execute(
        "UPDATE email_outbox SET last_error = $2, next_attempt_at = coalesce($3, next_attempt_at),"
        " state = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE state END WHERE id = $1",
        email_id,
        error[:1000],
        next_at,
    )
