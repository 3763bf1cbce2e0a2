"""Any-amount (unlimited) invoice use cases: create, read, close, and close the ones whose window ended.

Filling one (the payer's proceed) is services.invoices.fill; crediting its deposits is services.deposits.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import invoices as db_invoices
from coinvoice.db import unlimited as db
from coinvoice.db.companies import CompanyProfile
from coinvoice.domain.assets import CHAINS, PAYMENT_ASSETS
from coinvoice.domain.billing import check_metadata
from coinvoice.domain.errors import Conflict, Invalid, NotFound
from coinvoice.domain.invoice import Status
from coinvoice.domain.state import MESSAGES, Event
from coinvoice.services.deposits import rederive
from coinvoice.services.events import emit, event_payload
from coinvoice.services.views import invoice_view

log = logging.getLogger(__name__)
#: what an any-amount invoice is denominated in until the payer picks an asset
ANY_ASSET = "any"


@dataclass(frozen=True, slots=True)
class NewUnlimited:
    payment_currency: str | None
    description: str | None
    reference: str | None
    metadata: dict[str, str]
    redirect_url: str | None


def check_asset(code: str, field: str = "paymentCurrency") -> None:
    """An any-amount invoice needs an address of its own: only assets on chains that derive addresses."""
    asset = PAYMENT_ASSETS.get(code)
    if asset is None:
        raise Invalid("unknown_payment_currency", f"paymentCurrency must be one of {', '.join(PAYMENT_ASSETS)}", field)
    if not CHAINS[asset.chain].derives_addresses:
        raise Invalid(
            "asset_not_supported",
            f"{code} pays to a shared address, which cannot tell one any-amount payment from another",
            field,
        )


async def create(pool: asyncpg.Pool, settings: Settings, company: CompanyProfile, new: NewUnlimited) -> dict[str, Any]:
    if new.payment_currency is not None:
        check_asset(new.payment_currency)
    now = datetime.now(UTC)
    row = {
        "id": uuid.uuid4(),
        "company_id": company.id,
        "invoice_currency": new.payment_currency or ANY_ASSET,
        "preset_currency": new.payment_currency,
        "redirect_url": new.redirect_url or company.redirect_url,
        "description": new.description,
        "external_reference": new.reference,
        "metadata": check_metadata(new.metadata),
        "created_at": now,
    }
    view = invoice_view(
        row
        | {
            "kind": "unlimited",
            "status": Status.CREATED.value,
            "payment_currency": None,
            "filled_at": None,
            "company_name": company.name,
            "logo_url": company.logo_url,
            "assets": company.assets,
        },
        settings,
    )
    event = Event("invoice.created", Status.CREATED, MESSAGES[Status.CREATED])
    event_id = uuid.uuid4()
    payload = event_payload(event_id, event, view, now)
    await db.insert_with_event(pool, row, {"id": event_id, "type": event.type, "payload": payload})
    return view


async def _view(conn: Any, settings: Settings, invoice_id: uuid.UUID) -> dict[str, Any]:
    row = await db_invoices.fetch_view_row(conn, invoice_id)
    assert row is not None
    return invoice_view(row, settings)


async def get(pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID) -> dict[str, Any]:
    if not await db.owned(pool, company_id, invoice_id):
        raise NotFound("invoice_not_found", "no any-amount invoice with this id", "id")
    async with pool.acquire() as conn:
        return await _view(conn, settings, invoice_id)


async def close(pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID) -> dict[str, Any]:
    """The merchant closes the deposit window now: done when something was received (once confirmed), expired
    when nothing was. A payment arriving later is still recorded (and credited as late within the late window)."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        if not await db.owned(conn, company_id, invoice_id):
            raise NotFound("invoice_not_found", "no any-amount invoice with this id", "id")
        inv = await db_invoices.lock_invoice(conn, invoice_id)
        assert inv is not None
        status = Status(inv["status"])
        if status is Status.CREATED:  # never filled: nothing can have arrived
            await db_invoices.set_status(conn, invoice_id, Status.EXPIRED.value, now)
            await emit(conn, settings, invoice_id, Event("invoice.expired", Status.EXPIRED, MESSAGES[Status.EXPIRED]))
        elif status is Status.PENDING:
            await db.close_window(conn, invoice_id, now)
            await rederive(conn, settings, [invoice_id], now)
        else:
            raise Conflict("invoice_closed", f"the invoice is {status.value} and already closed", "status")
        return await _view(conn, settings, invoice_id)


async def close_ended_windows(pool: asyncpg.Pool, settings: Settings, now: datetime | None = None) -> int:
    """Close one bounded batch of any-amount invoices whose deposit window ended; returns how many."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        ids = await db.window_ended(conn, now, settings.expiry_batch)
        await rederive(conn, settings, ids, now)
    if ids:
        log.info("closed %d any-amount invoices", len(ids))
    return len(ids)
