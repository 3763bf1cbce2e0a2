"""Billing invoices are paid over days: a lapsed quote reopens the invoice for a fresh one until the due date,
after which the invoice expires (overdue)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import billing_payment as db
from coinvoice.db.connection import Conn
from coinvoice.domain.invoice import Status
from coinvoice.domain.state import Event
from coinvoice.services.events import emit

log = logging.getLogger(__name__)
QUOTE_LAPSED = Event("invoice.quote_expired", Status.CREATED, "The quote expired unpaid; a fresh one can be asked for")
OVERDUE = Event("invoice.overdue", Status.EXPIRED, "Invoice past its due date without payment")


async def reopen_if_lapsed(conn: Conn, settings: Settings, invoice_id: uuid.UUID, now: datetime) -> bool:
    """In the payer's fill (the invoice locked): reopen a billing invoice whose quote lapsed before its due date."""
    if not await db.lapsed_quotes(conn, now, 1, invoice_id):
        return False
    await db.reopen(conn, invoice_id, now)
    await emit(conn, settings, invoice_id, QUOTE_LAPSED)
    return True


async def run_billing_due(pool: asyncpg.Pool, settings: Settings, now: datetime | None = None) -> int:
    """One bounded batch: reopen lapsed quotes, expire overdue invoices; returns how many changed."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        lapsed = await db.lapsed_quotes(conn, now, settings.expiry_batch)
        for invoice_id in lapsed:
            await db.reopen(conn, invoice_id, now)
            await emit(conn, settings, invoice_id, QUOTE_LAPSED)
        overdue = await db.expire_overdue(conn, now, settings.expiry_batch)
        for invoice_id in overdue:
            await emit(conn, settings, invoice_id, OVERDUE)
    if lapsed or overdue:
        log.info("billing: %d quotes lapsed (invoices reopened), %d invoices overdue", len(lapsed), len(overdue))
    return len(lapsed) + len(overdue)
