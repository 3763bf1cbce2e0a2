"""SQL for any-amount (unlimited) invoices: create, read company-scoped, close, and find the ones whose window ended."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool


async def insert_with_event(conn: ConnOrPool, row: dict[str, Any], event: dict[str, Any]) -> None:
    """Insert a new any-amount invoice and its creation event in one statement."""
    await conn.execute(
        "WITH inv AS ("
        " INSERT INTO invoices (id, company_id, kind, status, invoice_currency, items, total, preset_currency,"
        "  redirect_url, description, external_reference, metadata, created_at, updated_at)"
        " VALUES ($1, $2, 'unlimited', 'created', $3, '[]', NULL, $4, $5, $6, $7, $8, $9, $9)"
        " RETURNING id, company_id)"
        " INSERT INTO events (id, company_id, invoice_id, type, status, payload, created_at)"
        " SELECT $10, company_id, id, $11, 'created', $12, $9 FROM inv",
        row["id"],
        row["company_id"],
        row["invoice_currency"],
        row["preset_currency"],
        row["redirect_url"],
        row["description"],
        row["external_reference"],
        row["metadata"],
        row["created_at"],
        event["id"],
        event["type"],
        event["payload"],
    )


async def owned(conn: ConnOrPool, company_id: uuid.UUID, invoice_id: uuid.UUID) -> bool:
    """True when the invoice is one of the company's any-amount invoices."""
    found = await conn.fetchval(
        "SELECT 1 FROM invoices WHERE id = $1 AND company_id = $2 AND kind = 'unlimited'", invoice_id, company_id
    )
    return found is not None


async def set_payment_currency(conn: Conn, invoice_id: uuid.UUID, code: str) -> None:
    """The payer's choice of asset is also what the invoice is denominated in (it has no price of its own)."""
    await conn.execute("UPDATE invoices SET invoice_currency = $2 WHERE id = $1", invoice_id, code)


async def close_window(conn: Conn, invoice_id: uuid.UUID, now: datetime) -> None:
    """The merchant closes the deposit window now (it never reopens)."""
    await conn.execute(
        "UPDATE invoices SET expires_at = least(expires_at, $2), updated_at = $2 WHERE id = $1", invoice_id, now
    )


async def window_ended(conn: Conn, now: datetime, limit: int) -> list[uuid.UUID]:
    """Up to ``limit`` open any-amount invoices whose deposit window has ended, oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id FROM invoices WHERE kind = 'unlimited' AND status = 'pending' AND expires_at <= $1"
        " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    return [r["id"] for r in rows]


async def credited_unlimited(conn: Conn, invoice_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these invoices are any-amount ones (their every deposit is reported on its own)."""
    rows = await conn.fetch("SELECT id FROM invoices WHERE id = ANY($1::uuid[]) AND kind = 'unlimited'", invoice_ids)
    return {r["id"] for r in rows}
