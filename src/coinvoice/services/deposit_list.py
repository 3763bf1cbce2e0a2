"""The merchant's deposit list: everything seen at the company's addresses, credited or not, newest first."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import deposits as db
from coinvoice.services.pagination import check_limit, decode_cursor, encode_cursor
from coinvoice.services.views import deposit_view


async def list_deposits(
    pool: asyncpg.Pool,
    settings: Settings,
    company_id: uuid.UUID,
    *,
    credited: bool | None = None,
    chain: str | None = None,
    invoice_id: uuid.UUID | None = None,
    limit: int = 20,
    cursor: str | None = None,
    dismissed: bool | None = None,
) -> dict[str, Any]:
    """One page of the company's deposits; ``nextCursor`` is None on the last page."""
    check_limit(limit)
    after = decode_cursor(cursor) if cursor else None
    rows = await db.list_deposit_rows(
        pool,
        company_id,
        credited=credited,
        chain=chain,
        invoice_id=invoice_id,
        after=after,
        limit=limit + 1,
        dismissed=dismissed,
    )
    page = rows[:limit]
    return {
        "items": [deposit_view(r, settings) for r in page],
        "nextCursor": encode_cursor(page[-1]["seen_at"], page[-1]["id"]) if len(rows) > limit else None,
    }
