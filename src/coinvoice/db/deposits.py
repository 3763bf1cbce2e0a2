"""SQL for deposits: one by id, a company's deposits newest first with filters, dismissing and accepting one."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool

_COLUMNS = (
    "SELECT d.id, d.company_id, d.invoice_id, d.chain, d.address, d.tag, d.txid, d.output_index, d.asset,"
    " d.contract, d.amount_units::text AS amount_units, d.credited, d.reason, d.late, d.block_height,"
    " d.confirmations, d.state, d.seen_at, d.accepted_at, d.accepted_reason FROM deposits d"
)


async def fetch_deposit(conn: ConnOrPool, deposit_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(_COLUMNS + " WHERE d.id = $1", deposit_id)


async def list_deposit_rows(
    conn: ConnOrPool,
    company_id: uuid.UUID,
    *,
    credited: bool | None,
    chain: str | None,
    invoice_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    dismissed: bool | None = None,
) -> list[asyncpg.Record]:
    """One page of a company's deposits, newest first, keyed by (seen_at, id)."""
    return await conn.fetch(
        _COLUMNS + " WHERE d.company_id = $1 AND ($2::bool IS NULL OR d.credited = $2)"
        " AND ($3::text IS NULL OR d.chain = $3) AND ($4::uuid IS NULL OR d.invoice_id = $4)"
        " AND ($5::timestamptz IS NULL OR (d.seen_at, d.id) < ($5, $6::uuid))"
        " AND ($8::bool IS NULL OR (d.dismissed_at IS NOT NULL) = $8)"
        " ORDER BY d.seen_at DESC, d.id DESC LIMIT $7",
        company_id,
        credited,
        chain,
        invoice_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        dismissed,
    )


async def dismiss(conn: Conn, company_id: uuid.UUID, deposit_id: uuid.UUID, now: datetime) -> str | None:
    """Mark a not-credited deposit dismissed: "dismissed", "credited", "already" or None (no such deposit)."""
    row = await conn.fetchrow(
        "SELECT credited, dismissed_at FROM deposits WHERE id = $1 AND company_id = $2 FOR UPDATE",
        deposit_id,
        company_id,
    )
    if row is None:
        return None
    if row["credited"]:
        return "credited"
    if row["dismissed_at"] is not None:
        return "already"
    await conn.execute("UPDATE deposits SET dismissed_at = $2, updated_at = $2 WHERE id = $1", deposit_id, now)
    return "dismissed"


async def lock_for_accept(conn: Conn, company_id: uuid.UUID, deposit_id: uuid.UUID) -> asyncpg.Record | None:
    """A company's deposit, its row locked until the transaction ends (before its invoice, as the watcher does)."""
    return await conn.fetchrow(
        "SELECT id, asset, credited, reason, state, dismissed_at FROM deposits WHERE id = $1 AND company_id = $2"
        " FOR UPDATE",
        deposit_id,
        company_id,
    )


async def lock_target_invoice(conn: Conn, company_id: uuid.UUID, invoice_id: uuid.UUID) -> asyncpg.Record | None:
    """The invoice a deposit is to be accepted into, locked: its status, kind and quoted payment asset."""
    return await conn.fetchrow(
        "SELECT id, status, kind, payment_currency, resolution FROM invoices"
        " WHERE id = $1 AND company_id = $2 AND deleted_at IS NULL FOR UPDATE",
        invoice_id,
        company_id,
    )


async def credit_accepted(conn: Conn, deposit_id: uuid.UUID, invoice_id: uuid.UUID, now: datetime) -> None:
    """Credit a deposit to ``invoice_id`` by the merchant's decision: it counts as if it had arrived in time
    (``late`` false); why it was not credited before stays in ``accepted_reason``."""
    await conn.execute(
        "UPDATE deposits SET invoice_id = $2, credited = true, accepted_reason = reason, reason = NULL,"
        " late = false, accepted_at = $3, updated_at = $3 WHERE id = $1",
        deposit_id,
        invoice_id,
        now,
    )
