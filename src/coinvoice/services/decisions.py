"""Merchant decisions: accept or reject a wrong payment, accept a late payment, and accept into an invoice or
dismiss a deposit not credited."""

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
from coinvoice.domain.transfers import NotCredited
from coinvoice.services.deposits import rederive, report_credited
from coinvoice.services.events import emit, emit_deposit_event
from coinvoice.services.invoices import get_view
from coinvoice.services.views import deposit_view, wire_time

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


#: Invoices a deposit may be accepted into: those still waiting for (more) payment, and expired ones. A paid
#: invoice takes no more, and refunded, failed, voided, uncollectible and draft ones are final.
ACCEPTS_DEPOSITS = frozenset({Status.PENDING, Status.PROCESSING, Status.WRONG, Status.EXPIRED})


async def accept_deposit(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, deposit_id: uuid.UUID, invoice_id: uuid.UUID
) -> dict[str, Any]:
    """Credit a deposit that was not credited (wrong asset, after the late window, no invoice) to an invoice of
    the company quoted in the same payment asset: it counts as if it had arrived in time, and the invoice's
    status is re-derived by the watcher's own rules (services.deposits.rederive) with the watcher's events,
    after a ``deposit.accepted`` event. All in one transaction; 404 or 409 with a stable code otherwise."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        dep = await db_deposits.lock_for_accept(conn, company_id, deposit_id)
        if dep is None:
            raise NotFound("deposit_not_found", "no deposit with this id", "id")
        if dep["credited"]:
            raise Conflict("deposit_credited", "this deposit already counts toward an invoice", "id")
        if dep["dismissed_at"] is not None:
            raise Conflict("deposit_dismissed", "this deposit was dismissed", "id")
        if dep["reason"] == NotCredited.UNKNOWN_TOKEN or dep["asset"] is None:
            raise Conflict("unknown_token", "a token that is not configured has no known asset or value", "id")
        if dep["state"] == "orphaned":
            raise Conflict("deposit_orphaned", "this payment was reorganised away and is not on the chain", "id")
        inv = await db_deposits.lock_target_invoice(conn, company_id, invoice_id)
        if inv is None:
            raise NotFound("invoice_not_found", "no invoice with this id", "invoiceId")
        status = Status(inv["status"])
        if status not in ACCEPTS_DEPOSITS:
            allowed = ", ".join(sorted(s.value for s in ACCEPTS_DEPOSITS))
            raise Conflict(
                "invalid_state",
                f"cannot accept a deposit into an invoice that is {status.value} (needs {allowed})",
                "invoiceId",
            )
        if inv["payment_currency"] != dep["asset"]:
            raise Conflict(
                "asset_mismatch",
                f"the deposit is in {dep['asset']} but the invoice is quoted in {inv['payment_currency']}",
                "invoiceId",
            )
        await db_deposits.credit_accepted(conn, deposit_id, invoice_id, now)
        message = f"Deposit accepted by the merchant into invoice {invoice_id} (it was not credited: {dep['reason']})"
        await emit_deposit_event(
            conn,
            settings,
            "deposit.accepted",
            deposit_id,
            now,
            {"decision": "accepted", "previousReason": dep["reason"], "message": message},
        )
        await rederive(conn, settings, [invoice_id], now)
        await report_credited(conn, settings, [{"id": deposit_id, "invoice_id": invoice_id}], now)
        row = await db_deposits.fetch_deposit(conn, deposit_id)
        assert row is not None
        return {"deposit": deposit_view(row, settings), "invoice": await get_view(conn, settings, invoice_id)}
