"""Keyset pagination shared by the merchant's lists: an opaque cursor on (time, id), and the page size."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from coinvoice.domain.errors import Invalid

MAX_LIMIT = 100


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("out_of_range", f"limit must be between 1 and {MAX_LIMIT}", "limit")


def encode_cursor(created_at: datetime, invoice_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(invoice_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    if not cursor.isascii() or len(cursor) > 200:
        raise Invalid("invalid_cursor", "cursor is not one this API returned", "cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, invoice_id = json.loads(raw)
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at, uuid.UUID(invoice_id)
    except (ValueError, TypeError, RecursionError, binascii.Error, UnicodeDecodeError):
        raise Invalid("invalid_cursor", "cursor is not one this API returned", "cursor") from None
