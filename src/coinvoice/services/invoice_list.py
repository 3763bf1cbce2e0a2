"""The merchant's invoice list: newest first, filtered, with an opaque keyset cursor on (created_at, id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import account as db
from coinvoice.domain.errors import Invalid
from coinvoice.services.pagination import check_limit, decode_cursor, encode_cursor
from coinvoice.services.views import invoice_view


async def list_invoices(
    pool: asyncpg.Pool,
    settings: Settings,
    company_id: uuid.UUID,
    *,
    statuses: list[str] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 20,
    cursor: str | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    """One page of the company's invoices; ``nextCursor`` is None on the last page. ``search`` matches the
    invoice id, the billing reference or a part of the payer's email."""
    check_limit(limit)
    search = (search or "").strip() or None
    if search is not None and (len(search) > 200 or not search.isprintable()):
        raise Invalid("invalid_search", "search must be at most 200 printable characters", "search")
    after = decode_cursor(cursor) if cursor else None
    rows = await db.list_invoice_rows(
        pool,
        company_id,
        statuses=statuses,
        created_from=created_from,
        created_to=created_to,
        after=after,
        limit=limit + 1,
        search=search,
    )
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [invoice_view(r, settings) for r in page],
        "nextCursor": encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more else None,
    }
