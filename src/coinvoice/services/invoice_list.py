"""The merchant's invoice list: newest first, filtered, with an opaque keyset cursor on (created_at, id)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import account as db
from coinvoice.domain.errors import Invalid
from coinvoice.services.views import invoice_view

MAX_LIMIT = 100


def encode_cursor(created_at: datetime, invoice_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(invoice_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, invoice_id = json.loads(raw)
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at, uuid.UUID(invoice_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid("invalid_cursor", "cursor is not one this API returned", "cursor") from None


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
) -> dict[str, Any]:
    """One page of the company's invoices; ``nextCursor`` is None on the last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("out_of_range", f"limit must be between 1 and {MAX_LIMIT}", "limit")
    after = decode_cursor(cursor) if cursor else None
    rows = await db.list_invoice_rows(
        pool,
        company_id,
        statuses=statuses,
        created_from=created_from,
        created_to=created_to,
        after=after,
        limit=limit + 1,
    )
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [invoice_view(r, settings) for r in page],
        "nextCursor": encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more else None,
    }
