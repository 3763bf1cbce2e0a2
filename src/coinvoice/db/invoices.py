"""SQL for invoices, their quotes and deposit addresses, and the invoice view query."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool

# One round trip for everything the wire shows about an invoice; __INVOICES__ is the invoices table, a subquery
# or a function returning invoice rows.
# The quote and the live address (one at most each: their unique keys) are LATERAL ... LIMIT 1, which PostgreSQL
# cannot flatten into a join: each is an index probe per invoice row, whatever the statistics say. As plain joins,
# statistics that lag behind fast-growing tables made the list hash every live address for a page of 20 (3.2 ms
# against 0.3 ms, bench/NOTES.md round 4).
_VIEW_SELECT = """
SELECT i.id, i.company_id, i.status, i.invoice_currency, i.items, i.total, i.merchant_pays_fee,
       i.preset_currency, i.payment_currency, i.redirect_url, i.client_email, i.resolution,
       i.created_at, i.filled_at, i.expires_at, i.updated_at,
       i.kind, i.customer_id, i.customer, i.lines, i.reference AS billing_reference, i.due_at, i.days_until_due, i.metadata, i.notes,
       i.finalized_at, i.closed_at, i.deleted_at, i.description, i.external_reference,
       c.name AS company_name, c.logo_url, c.support_url, c.support_email, c.brand_color,
       (SELECT coalesce(json_object_agg(a.asset, a.is_allowed), '{}')
          FROM company_assets a WHERE a.company_id = i.company_id) AS assets,
       q.asset AS quote_asset, q.decimals, q.rate, q.fee_units::text AS fee_units,
       q.due_units::text AS due_units, q.rate_sources, q.network_fee_units::text AS network_fee_units,
       ad.id AS address_id, ad.chain, ad.address, ad.tag, ad.reference,
       (SELECT coalesce(json_agg(json_build_object(
                 'id', d.id, 'txid', d.txid, 'index', d.output_index, 'asset', d.asset,
                 'amount_units', d.amount_units::text, 'confirmations', d.confirmations,
                 'state', d.state, 'late', d.late, 'seen_at', d.seen_at,
                 'block_height', d.block_height) ORDER BY d.seen_at, d.txid, d.output_index), '[]')
          FROM deposits d WHERE d.invoice_id = i.id AND d.credited) AS deposits
  FROM __INVOICES__ i
  JOIN companies c ON c.id = i.company_id
  LEFT JOIN LATERAL (SELECT * FROM quotes q WHERE q.invoice_id = i.id LIMIT 1) q ON true
  LEFT JOIN LATERAL (SELECT * FROM addresses ad WHERE ad.invoice_id = i.id AND ad.retired_at IS NULL LIMIT 1) ad ON true
"""


def view_sql(invoices: str, tail: str) -> str:
    """The view query over ``invoices`` (the table, or a parenthesised subquery of invoice rows), then ``tail``."""
    return _VIEW_SELECT.replace("__INVOICES__", invoices) + tail


VIEW_SQL = view_sql("invoices", " WHERE i.id = $1")


async def fetch_view_row(conn: ConnOrPool, invoice_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(VIEW_SQL, invoice_id)


async def find_by_idempotency_key(conn: Conn, company_id: uuid.UUID, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, request_hash FROM invoices WHERE company_id = $1 AND idempotency_key = $2",
        company_id,
        key,
    )


async def lock_invoice(conn: Conn, invoice_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, company_id, kind, status, invoice_currency, total, merchant_pays_fee, preset_currency,"
        " payment_currency, expires_at, resolution, deleted_at, ARRAY(SELECT a.asset FROM company_assets a"
        " WHERE a.company_id = i.company_id AND a.is_allowed) AS allowed_assets"
        " FROM invoices i WHERE id = $1 FOR UPDATE OF i",
        invoice_id,
    )


async def insert_address(
    conn: Conn,
    *,
    chain: str,
    address: str,
    tag: str | None,
    index: int | None,
    company_id: uuid.UUID,
    invoice_id: uuid.UUID,
    reference: str | None = None,
    shared: bool = False,
) -> uuid.UUID | None:
    """Record a deposit address for an invoice; None when that address (or, on a shared address, that
    comment or reference) was ever used before."""
    return await conn.fetchval(
        "INSERT INTO addresses (id, chain, address, tag, derivation_index, company_id, invoice_id, reference, shared)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id",
        uuid.uuid4(),
        chain,
        address,
        tag,
        index,
        company_id,
        invoice_id,
        reference,
        shared,
    )


async def open_dues(conn: Conn, chain: str, address: str, low: int, high: int) -> set[int]:
    """Amounts due in [low, high] of the invoices still waiting for payment on a shared address."""
    rows = await conn.fetch(
        "SELECT q.due_units FROM addresses a JOIN invoices i ON i.id = a.invoice_id"
        "  JOIN quotes q ON q.invoice_id = a.invoice_id"
        " WHERE a.chain = $1 AND a.address = $2 AND a.shared AND i.status IN ('pending', 'processing', 'wrong')"
        "   AND q.due_units BETWEEN $3 AND $4",
        chain,
        address,
        Decimal(low),
        Decimal(high),
    )
    return {int(r["due_units"]) for r in rows}


QUOTE_COLUMNS = (
    "asset",
    "decimals",
    "rate",
    "fee_units",
    "due_units",
    "rate_source",
    "quoted_at",
    "rate_sources",
    "spread_percent",
    "network_fee_units",
    "network_fee_source",
)


def _mark_filled_sql(first: int) -> str:
    """The invoice ($1) turned pending; its email, payment currency, fill and expiry times from ``$first`` on."""
    e, c, f, x = (f"${n}" for n in range(first, first + 4))
    return (
        f"UPDATE invoices SET status = 'pending', client_email = {e}, payment_currency = {c}, filled_at = {f},"
        f" expires_at = {x}, updated_at = {f} WHERE id = $1"
    )


async def fill_with_quote(
    conn: Conn,
    invoice_id: uuid.UUID,
    q: dict[str, Any],
    *,
    email: str,
    payment_currency: str,
    filled_at: datetime,
    expires_at: datetime,
) -> None:
    """The frozen quote and the invoice turned pending (``mark_filled``), in one statement."""
    columns = QUOTE_COLUMNS
    await conn.execute(
        f"WITH q AS (INSERT INTO quotes (invoice_id, {', '.join(columns)})"
        f" VALUES ($1, {', '.join(f'${n}' for n in range(2, len(columns) + 2))}))" + _mark_filled_sql(len(columns) + 2),
        invoice_id,
        *(q[c] for c in columns),
        email,
        payment_currency,
        filled_at,
        expires_at,
    )


async def mark_filled(
    conn: Conn,
    invoice_id: uuid.UUID,
    *,
    email: str,
    payment_currency: str,
    filled_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        _mark_filled_sql(2),
        invoice_id,
        email,
        payment_currency,
        filled_at,
        expires_at,
    )


async def set_status(conn: Conn, invoice_id: uuid.UUID, status: str, now: datetime) -> None:
    await conn.execute("UPDATE invoices SET status = $2, updated_at = $3 WHERE id = $1", invoice_id, status, now)


async def expire_due(conn: Conn, now: datetime, limit: int) -> list[uuid.UUID]:
    """Expire up to ``limit`` pending invoices past their expiry with no live deposit; returns their ids."""
    rows = await conn.fetch(
        "WITH due AS ("
        "  SELECT id FROM invoices i WHERE i.status = 'pending' AND i.expires_at <= $1 AND i.kind NOT IN ('billing', 'unlimited')"
        "   AND NOT EXISTS (SELECT 1 FROM deposits d WHERE d.invoice_id = i.id AND d.credited AND d.state <> 'orphaned' AND NOT d.late)"
        "   ORDER BY i.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE invoices SET status = 'expired', updated_at = $1 FROM due WHERE invoices.id = due.id"
        " RETURNING invoices.id",
        now,
        limit,
    )
    return [r["id"] for r in rows]
