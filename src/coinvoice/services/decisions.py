"""Merchant decisions: accept or reject a wrong payment, accept a late payment, dismiss a deposit not credited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import account as db
from coinvoice.db import deposits as db_deposits
from coinvoice.domain.errors import Conflict, NotFound
from coinvoice.domain.invoice import Status
from coinvoice.domain.state import MERCHANT_DECISIONS, Event
from coinvoice.services.events import emit, emit_deposit_event
from coinvoice.services.invoices import get_view
from coinvoice.services.views import wire_time

RESOLUTION = {"accept": "accepted", "reject": "rejected"}
MESSAGE = {
    (Status.WRONG, "accept"): "Underpayment accepted by the merchant",
    (Status.WRONG, "reject"): "Payment rejected by the merchant",
    (Status.EXPIRED, "accept"): "Late payment accepted by the merchant",
}


async def decide(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID, decision: str
) -> dict[str, Any]:
    """Apply ``decision`` ("accept" | "reject"); 409 unless the invoice is in a state that allows it."""
    async with pool.acquire() as conn, conn.transaction():
        inv = await db.lock_company_invoice(conn, company_id, invoice_id)
        if inv is None:
            raise NotFound("invoice_not_found", "no invoice with this id", "id")
        status = Status(inv["status"])
        new = MERCHANT_DECISIONS.get((status, decision))
        if new is None:
            allowed = " or ".join(sorted({s.value for s, d in MERCHANT_DECISIONS if d == decision}))
            raise Conflict(
                "invalid_state", f"cannot {decision} an invoice that is {status.value} (needs {allowed})", "status"
            )
        if status is Status.EXPIRED and not inv["has_late_deposit"]:
            raise Conflict("no_late_payment", "this expired invoice has received no late payment to accept", "status")
        await db.resolve_invoice(conn, invoice_id, new.value, RESOLUTION[decision], datetime.now(UTC))
        await emit(conn, settings, invoice_id, Event(f"invoice.{new.value}", new, MESSAGE[(status, decision)]))
        return await get_view(conn, settings, invoice_id)


async def dismiss_deposit(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, deposit_id: uuid.UUID
) -> dict[str, str]:
    """Dismiss a payment that counts toward no invoice (the merchant handled it elsewhere, e.g. refunded it);
    writes a ``deposit.dismissed`` event. 409 for a credited or already dismissed deposit."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        outcome = await db_deposits.dismiss(conn, company_id, deposit_id, now)
        if outcome is None:
            raise NotFound("deposit_not_found", "no deposit with this id", "id")
        if outcome == "credited":
            raise Conflict("deposit_credited", "this deposit counts toward its invoice and cannot be dismissed", "id")
        if outcome == "already":
            raise Conflict("deposit_dismissed", "this deposit is already dismissed", "id")
        await emit_deposit_event(conn, settings, "deposit.dismissed", deposit_id, now)
    return {"id": str(deposit_id), "dismissedAt": wire_time(now) or ""}
