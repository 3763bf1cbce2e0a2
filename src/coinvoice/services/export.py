"""The invoice export: CSV or JSON, produced a batch of rows at a time, amounts as decimal strings."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from coinvoice.db.export import export_rows
from coinvoice.domain.money import fmt, from_base_units
from coinvoice.services.views import wire_time

COLUMNS = (
    "id",
    "kind",
    "status",
    "reference",
    "invoiceCurrency",
    "total",
    "paymentCurrency",
    "amountDue",
    "received",
    "clientEmail",
    "customerEmail",
    "createdAt",
    "finalizedAt",
    "dueDate",
    "expiresAt",
    "updatedAt",
)
FORMATS = ("csv", "json")
BATCH = 500


def export_record(row: asyncpg.Record) -> dict[str, Any]:
    decimals = row["decimals"]
    due = fmt(from_base_units(int(row["due_units"]), decimals)) if row["due_units"] is not None else None
    received = fmt(from_base_units(int(row["received_units"]), decimals)) if decimals is not None else None
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "status": row["status"],
        "reference": row["reference"],
        "invoiceCurrency": row["invoice_currency"],
        "total": fmt(Decimal(row["total"])) if row["total"] is not None else None,  # any-amount: no total
        "paymentCurrency": row["payment_currency"],
        "amountDue": due,
        "received": received,
        "clientEmail": row["client_email"],
        "customerEmail": row["customer_email"],
        "createdAt": wire_time(row["created_at"]),
        "finalizedAt": wire_time(row["finalized_at"]),
        "dueDate": wire_time(row["due_at"]),
        "expiresAt": wire_time(row["expires_at"]),
        "updatedAt": wire_time(row["updated_at"]),
    }


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def export_chunks(
    pool: asyncpg.Pool,
    company_id: uuid.UUID,
    fmt_name: str,
    *,
    statuses: list[str] | None,
    created_from: datetime | None,
    created_to: datetime | None,
) -> AsyncGenerator[bytes, None]:
    """The export as byte chunks of about ``BATCH`` invoices each: memory stays flat whatever the table size."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if fmt_name == "csv":
            writer.writerow(COLUMNS)
        else:
            buffer.write("[")
        count = 0
        async for row in export_rows(conn, company_id, statuses, created_from, created_to, prefetch=BATCH):
            record = export_record(row)
            if fmt_name == "csv":
                writer.writerow([_cell(record[c]) for c in COLUMNS])
            else:
                buffer.write(("," if count else "") + json.dumps(record, separators=(",", ":")))
            count += 1
            if count % BATCH == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        if fmt_name == "json":
            buffer.write("]")
        yield buffer.getvalue().encode()
