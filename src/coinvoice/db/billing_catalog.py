"""SQL for the billing catalog: products, prices and customers, each scoped to one company."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from coinvoice.db.connection import ConnOrPool

#: table -> the columns a create may set (besides id, company_id and the times)
COLUMNS = {
    "products": ("name", "description", "active", "metadata"),
    "prices": ("product_id", "invoice_currency", "unit_amount", "active", "metadata"),
    "customers": ("email", "name", "metadata", "active"),
}


async def insert(conn: ConnOrPool, table: str, company_id: uuid.UUID, values: dict[str, Any]) -> asyncpg.Record:
    names = [c for c in COLUMNS[table] if c in values]
    cols = ", ".join(["id", "company_id", *names])
    params = ", ".join(f"${n}" for n in range(1, len(names) + 3))
    row = await conn.fetchrow(
        f"INSERT INTO {table} ({cols}) VALUES ({params}) RETURNING *",
        uuid.uuid4(),
        company_id,
        *[values[c] for c in names],
    )
    assert row is not None
    return row


async def fetch(
    conn: ConnOrPool, table: str, company_id: uuid.UUID, object_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(
        f"SELECT * FROM {table} WHERE id = $1 AND company_id = $2{suffix}", object_id, company_id
    )


async def update(
    conn: ConnOrPool, table: str, company_id: uuid.UUID, object_id: uuid.UUID, changes: dict[str, Any]
) -> asyncpg.Record | None:
    names = [c for c in COLUMNS[table] if c in changes]
    sets = ", ".join([*(f"{c} = ${n}" for n, c in enumerate(names, start=3)), "updated_at = now()"])
    return await conn.fetchrow(
        f"UPDATE {table} SET {sets} WHERE id = $1 AND company_id = $2 RETURNING *",
        object_id,
        company_id,
        *[changes[c] for c in names],
    )


async def list_page(
    conn: ConnOrPool,
    table: str,
    company_id: uuid.UUID,
    *,
    active: bool | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    product_id: uuid.UUID | None = None,
) -> list[asyncpg.Record]:
    product_filter = "($6::uuid IS NULL OR product_id = $6)" if table == "prices" else "$6::uuid IS NULL"
    return await conn.fetch(
        f"SELECT * FROM {table} WHERE company_id = $1 AND ($2::boolean IS NULL OR active = $2)"
        f" AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) AND {product_filter}"
        " ORDER BY created_at DESC, id DESC LIMIT $5",
        company_id,
        active,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        product_id,
    )


async def prices_for_lines(
    conn: ConnOrPool, company_id: uuid.UUID, price_ids: list[uuid.UUID]
) -> dict[uuid.UUID, asyncpg.Record]:
    """The company's prices among ``price_ids``, with their product's name."""
    rows = await conn.fetch(
        "SELECT pr.id, pr.invoice_currency, pr.unit_amount, pr.active, p.name AS product_name"
        "  FROM prices pr JOIN products p ON p.id = pr.product_id"
        " WHERE pr.company_id = $1 AND pr.id = ANY($2)",
        company_id,
        price_ids,
    )
    return {r["id"]: r for r in rows}


async def mark_prices_used(conn: ConnOrPool, price_ids: list[uuid.UUID]) -> None:
    if price_ids:
        await conn.execute("UPDATE prices SET used = true WHERE id = ANY($1) AND NOT used", price_ids)
