"""What the merchant reads of one invoice (view, deposits, timeline, webhook deliveries) and live statuses."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import events as db_events
from coinvoice.db import invoices as db_invoices
from coinvoice.domain.errors import NotFound
from coinvoice.domain.invoice import CLOSED
from coinvoice.services.deliveries import list_deliveries
from coinvoice.services.deposit_list import list_deposits
from coinvoice.services.views import invoice_view, wire_time

MAX_STATUS_IDS = 100


async def merchant_invoice(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID
) -> dict[str, Any]:
    """The invoice (with the payer's email), every deposit at its address, its events and webhook deliveries.

    Another company's invoice is as unknown as a missing one."""
    row = await db_invoices.fetch_view_row(pool, invoice_id)
    if row is None or row["company_id"] != company_id or row["deleted_at"] is not None:
        raise NotFound("invoice_not_found", "no invoice with this id", "id")
    events = await db_events.invoice_events(pool, company_id, invoice_id)
    deposits = await list_deposits(pool, settings, company_id, invoice_id=invoice_id, limit=100)
    deliveries = await list_deliveries(pool, company_id, invoice_id=invoice_id, limit=100)
    payloads = {str(e["id"]): json.dumps(json.loads(e["payload"]), indent=2) for e in events}
    return {
        "invoice": invoice_view(row, settings),
        "final": row["status"] in {s.value for s in CLOSED},
        "deposits": deposits["items"],
        "events": [
            {
                "id": str(e["id"]),
                "type": e["type"],
                "status": e["status"],
                "message": e["message"],
                "createdAt": wire_time(e["created_at"]),
            }
            for e in events
        ],
        "deliveries": [{**d, "request": payloads.get(d["eventId"], "")} for d in deliveries["items"]],
    }


async def invoice_statuses(pool: asyncpg.Pool, company_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[str, Any]:
    """The current status of each of the company's invoices among ``ids`` (others are left out)."""
    rows = await db_events.invoice_statuses(pool, company_id, ids[:MAX_STATUS_IDS])
    return {
        str(r["id"]): {"status": r["status"], "version": wire_time(r["updated_at"]), "final": r["status"] in _FINAL}
        for r in rows
    }


_FINAL = frozenset(s.value for s in CLOSED)
