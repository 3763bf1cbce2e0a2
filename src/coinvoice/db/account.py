"""SQL for the merchant's account: company settings, underpayment limits, secret keys, invoice listing."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from coinvoice.db.companies import insert_token
from coinvoice.db.connection import Conn, ConnOrPool
from coinvoice.db.invoices import view_sql

#: The invoice view query for a page of a company's invoices, newest first, keyed by (created_at, id). The page
#: is cut first, over invoices alone, so only its rows are joined to the rest of the view (joining every invoice
#: of the company before the sort cost 17 ms a page at 800 invoices); it is cut by sql/0019's function, an
#: ordered walk of the company's index that stops at the page whatever the statistics say (a bitmap scan of all
#: the company's invoices and a sort cost 8.8 ms at 10,000 when they lagged).
LIST_SQL = view_sql(
    "coinvoice_invoice_page($1, $2::text[], $3::timestamptz, $4::timestamptz, $5::timestamptz, $6::uuid,"
    " $7::integer, $8::text, $9::text)",
    " ORDER BY i.created_at DESC, i.id DESC",
)
SETTING_COLUMNS = {
    "name": "name",
    "logoUrl": "logo_url",
    "redirectURL": "redirect_url",
    "webHookUrl": "webhook_url",
    "supportUrl": "support_url",
    "supportEmail": "support_email",
    "brandColor": "brand_color",
}


async def company_settings(conn: ConnOrPool, company_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT name, logo_url, redirect_url, webhook_url, support_url, support_email, brand_color"
        " FROM companies WHERE id = $1",
        company_id,
    )
    assert row is not None, "called with an authenticated company's id"
    return row


async def update_company(conn: ConnOrPool, company_id: uuid.UUID, changes: dict) -> None:
    """Set the given wire fields (keys of SETTING_COLUMNS) of a company."""
    if not changes:
        return
    names = list(changes)
    sets = ", ".join(f"{SETTING_COLUMNS[n]} = ${i + 2}" for i, n in enumerate(names))
    await conn.execute(
        f"UPDATE companies SET {sets}, updated_at = now() WHERE id = $1", company_id, *[changes[n] for n in names]
    )


async def underpayment_limits(conn: ConnOrPool, company_id: uuid.UUID) -> dict[str, Any]:
    rows = await conn.fetch(
        "SELECT asset, underpay_static, underpay_percent FROM company_assets WHERE company_id = $1", company_id
    )
    return {r["asset"]: (r["underpay_static"], r["underpay_percent"]) for r in rows}


async def set_underpayment_limit(
    conn: Conn, company_id: uuid.UUID, asset: str, static: Decimal | None, percent: Decimal | None
) -> None:
    """Set one asset's limits; None keeps the current value (0 for a new row)."""
    await conn.execute(
        "INSERT INTO company_assets (company_id, asset, underpay_static, underpay_percent)"
        " VALUES ($1, $2, coalesce($3::numeric, 0), coalesce($4::numeric, 0))"
        " ON CONFLICT (company_id, asset) DO UPDATE SET"
        " underpay_static = coalesce($3::numeric, company_assets.underpay_static),"
        " underpay_percent = coalesce($4::numeric, company_assets.underpay_percent)",
        company_id,
        asset,
        static,
        percent,
    )


async def rotate_secret(conn: Conn, company_id: uuid.UUID, token_hash: bytes, salt: bytes, old_until: datetime) -> None:
    """Add a new secret key; active older keys stay valid until ``old_until`` (never extended)."""
    await conn.execute(
        "UPDATE api_tokens SET expires_at = least(coalesce(expires_at, $2), $2)"
        " WHERE company_id = $1 AND kind = 'secret' AND revoked_at IS NULL",
        company_id,
        old_until,
    )
    await insert_token(conn, company_id, "secret", token_hash, salt)


async def active_secret_keys(conn: ConnOrPool, company_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT key_salt, created_at, expires_at FROM api_tokens"
        " WHERE company_id = $1 AND kind = 'secret' AND key_salt IS NOT NULL AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC, id DESC",
        company_id,
    )


async def lock_company_invoice(conn: Conn, company_id: uuid.UUID, invoice_id: uuid.UUID):
    return await conn.fetchrow(
        "SELECT id, status, resolution,"
        " EXISTS (SELECT 1 FROM deposits d WHERE d.invoice_id = i.id AND d.late AND d.credited AND d.state <> 'orphaned')"
        "  AS has_late_deposit"
        " FROM invoices i WHERE i.id = $1 AND i.company_id = $2 FOR UPDATE",
        invoice_id,
        company_id,
    )


async def resolve_invoice(conn: Conn, invoice_id: uuid.UUID, status: str, resolution: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE invoices SET status = $2, resolution = $3, updated_at = $4 WHERE id = $1",
        invoice_id,
        status,
        resolution,
        now,
    )


async def list_invoice_rows(
    conn: ConnOrPool,
    company_id: uuid.UUID,
    *,
    statuses: list[str] | None,
    created_from: datetime | None,
    created_to: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    search: str | None = None,
) -> list[asyncpg.Record]:
    pattern = None if search is None else "%" + re.sub(r"([\\%_])", r"\\\1", search) + "%"
    return await conn.fetch(
        LIST_SQL,
        company_id,
        statuses,
        created_from,
        created_to,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        search,
        pattern,
    )
