"""SQL for billing invoices: drafts, their customer and prices, finalization with a gap-free reference."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool

#: draft fields a create or an update writes
DRAFT_COLUMNS = (
    "customer_id",
    "invoice_currency",
    "items",
    "lines",
    "total",
    "due_at",
    "days_until_due",
    "metadata",
    "notes",
    "merchant_pays_fee",
)


async def insert_draft(conn: Conn, invoice_id: uuid.UUID, company_id: uuid.UUID, values: dict[str, Any]) -> None:
    cols = ", ".join(DRAFT_COLUMNS)
    params = ", ".join(f"${n}" for n in range(4, len(DRAFT_COLUMNS) + 4))
    await conn.execute(
        f"INSERT INTO invoices (id, company_id, redirect_url, kind, status, {cols}) VALUES ($1, $2, $3,"
        f" 'billing', 'draft', {params})",
        invoice_id,
        company_id,
        values.get("redirect_url"),
        *[values[c] for c in DRAFT_COLUMNS],
    )


async def lock_billing(conn: Conn, company_id: uuid.UUID, invoice_id: uuid.UUID) -> asyncpg.Record | None:
    """The company's billing invoice, locked; None when unknown, another company's, or a deleted draft."""
    return await conn.fetchrow(
        "SELECT i.*, EXISTS (SELECT 1 FROM deposits d WHERE d.invoice_id = i.id AND d.credited"
        "   AND d.state <> 'orphaned') AS has_payment"
        "  FROM invoices i WHERE i.id = $1 AND i.company_id = $2 AND i.kind = 'billing' AND i.deleted_at IS NULL"
        " FOR UPDATE",
        invoice_id,
        company_id,
    )


async def is_visible_billing(conn: ConnOrPool, company_id: uuid.UUID, invoice_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM invoices WHERE id = $1 AND company_id = $2 AND kind = 'billing' AND deleted_at IS NULL",
            invoice_id,
            company_id,
        )
    )


async def update_draft(conn: Conn, invoice_id: uuid.UUID, changes: dict[str, Any], now: datetime) -> None:
    names = [c for c in DRAFT_COLUMNS if c in changes]
    sets = ", ".join([*(f"{c} = ${n}" for n, c in enumerate(names, start=3)), "updated_at = $2"])
    await conn.execute(f"UPDATE invoices SET {sets} WHERE id = $1", invoice_id, now, *[changes[c] for c in names])


async def delete_draft(conn: Conn, invoice_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE invoices SET deleted_at = $2, updated_at = $2 WHERE id = $1", invoice_id, now)


async def take_reference_number(conn: Conn, company_id: uuid.UUID) -> int:
    """The company's next invoice number. The row stays locked until the caller's transaction ends, so
    concurrent finalizations take turns, and a rolled-back one gives its number back: no gaps."""
    number = await conn.fetchval(
        "INSERT INTO billing_sequences (company_id, next_number) VALUES ($1, 2)"
        " ON CONFLICT (company_id) DO UPDATE SET next_number = billing_sequences.next_number + 1"
        " RETURNING next_number - 1",
        company_id,
    )
    return int(number)


async def finalize(
    conn: Conn,
    invoice_id: uuid.UUID,
    *,
    reference: str,
    customer: dict[str, Any],
    due_at: datetime | None,
    now: datetime,
) -> None:
    await conn.execute(
        "UPDATE invoices SET status = 'created', reference = $2, customer = $3, due_at = $4, finalized_at = $5,"
        " updated_at = $5 WHERE id = $1",
        invoice_id,
        reference,
        customer,
        due_at,
        now,
    )


async def close(conn: Conn, invoice_id: uuid.UUID, status: str, now: datetime) -> None:
    """Void or mark uncollectible; the unpaid quote's clock stops mattering (expires_at kept for the record)."""
    await conn.execute(
        "UPDATE invoices SET status = $2, closed_at = $3, updated_at = $3 WHERE id = $1", invoice_id, status, now
    )


async def fetch_customer(conn: ConnOrPool, company_id: uuid.UUID, customer_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, email, name, active FROM customers WHERE id = $1 AND company_id = $2", customer_id, company_id
    )
