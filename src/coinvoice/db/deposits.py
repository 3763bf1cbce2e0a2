"""SQL for reading deposits: one by id, and a company's deposits newest first with filters."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool

_COLUMNS = (
    "SELECT d.id, d.company_id, d.invoice_id, d.chain, d.address, d.tag, d.txid, d.output_index, d.asset,"
    " d.contract, d.amount_units::text AS amount_units, d.credited, d.reason, d.late, d.block_height,"
    " d.confirmations, d.state, d.seen_at FROM deposits d"
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
