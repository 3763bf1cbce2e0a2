"""Billing invoice use cases: draft create / update / delete, finalize, void, mark uncollectible."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import billing_catalog as db_catalog
from coinvoice.db import billing_invoices as db
from coinvoice.db import invoices as db_invoices
from coinvoice.db.connection import Conn, ConnOrPool
from coinvoice.domain.billing import Line, check_metadata, due_at, format_reference, price_lines
from coinvoice.domain.errors import Conflict, Invalid, NotFound
from coinvoice.domain.invoice import Status
from coinvoice.domain.money import fmt
from coinvoice.domain.state import MESSAGES, Event, billing_action
from coinvoice.services.events import emit
from coinvoice.services.mail import queue_email
from coinvoice.services.views import invoice_view


@dataclass(frozen=True, slots=True)
class LineRequest:
    """A line as sent: a price id, or a free name and price; with a quantity."""

    price_id: str | None
    name: str | None
    price: Decimal | None
    quantity: int


def _not_found() -> NotFound:
    return NotFound("invoice_not_found", "no billing invoice with this id", "id")


async def billing_view(conn: ConnOrPool, settings: Settings, invoice_id: uuid.UUID) -> dict[str, Any]:
    row = await db_invoices.fetch_view_row(conn, invoice_id)
    assert row is not None
    return invoice_view(row, settings)


async def get(pool: ConnOrPool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID) -> dict[str, Any]:
    if not await db.is_visible_billing(pool, company_id, invoice_id):
        raise _not_found()
    return await billing_view(pool, settings, invoice_id)


def _price_uuid(raw: str, n: int) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("price_not_found", "no price with this id", f"lineItems[{n}].priceId") from None


async def _resolve_lines(
    conn: Conn, company_id: uuid.UUID, currency: str | None, lines: list[LineRequest]
) -> tuple[str, list[Line], list[uuid.UUID]]:
    """The invoice currency (sent, or the prices'), the lines priced, and the prices they use."""
    ids = [_price_uuid(line.price_id, n) if line.price_id else None for n, line in enumerate(lines)]
    prices = await db_catalog.prices_for_lines(conn, company_id, [i for i in ids if i is not None])
    resolved: list[Line] = []
    for n, (line, price_id) in enumerate(zip(lines, ids, strict=True)):
        field = f"lineItems[{n}]"
        if price_id is not None:
            if line.name is not None or line.price is not None:
                raise Invalid("conflicting_fields", "send priceId, or name and price, not both", field)
            price = prices.get(price_id)
            if price is None:
                raise NotFound("price_not_found", "no price with this id", f"{field}.priceId")
            if not price["active"]:
                raise Conflict("price_archived", "the price is archived", f"{field}.priceId")
            currency = currency or price["invoice_currency"]
            if price["invoice_currency"] != currency:
                raise Invalid(
                    "currency_mismatch",
                    f"the price is in {price['invoice_currency']}, the invoice in {currency}",
                    f"{field}.priceId",
                )
            resolved.append(Line(price["product_name"], Decimal(price["unit_amount"]), line.quantity, str(price_id)))
        else:
            if line.name is None:
                raise Invalid("required", "a line needs a priceId, or a name and a price", f"{field}.name")
            if line.price is None:
                raise Invalid("required", "a line needs a priceId, or a name and a price", f"{field}.price")
            resolved.append(Line(line.name, line.price, line.quantity))
    if currency is None:
        raise Invalid("required", "invoiceCurrency is required when no line uses a price", "invoiceCurrency")
    return currency, resolved, [i for i in ids if i is not None]


async def _priced(conn: Conn, company_id: uuid.UUID, currency: str | None, lines: list[LineRequest]) -> dict[str, Any]:
    """The columns a set of lines writes: currency, items (name, line amount), lines and total."""
    code, resolved, price_ids = await _resolve_lines(conn, company_id, currency, lines)
    stored, total = price_lines(code, resolved)
    await db_catalog.mark_prices_used(conn, price_ids)
    return {
        "invoice_currency": code,
        "items": [{"name": s["name"], "price": fmt(s["amount"])} for s in stored],  # type: ignore[arg-type]
        "lines": [{k: fmt(v) if isinstance(v, Decimal) else v for k, v in s.items()} for s in stored],
        "total": total,
    }


async def _check_customer(conn: Conn, company_id: uuid.UUID, raw: str) -> uuid.UUID:
    try:
        customer_id = uuid.UUID(raw)
    except ValueError:
        raise NotFound("customer_not_found", "no customer with this id", "customerId") from None
    customer = await db.fetch_customer(conn, company_id, customer_id)
    if customer is None:
        raise NotFound("customer_not_found", "no customer with this id", "customerId")
    if not customer["active"]:
        raise Conflict("customer_archived", "the customer is archived", "customerId")
    return customer_id


def _check_due(due_date: datetime | None, days: int | None) -> None:
    if due_date is not None and days is not None:
        raise Invalid("conflicting_fields", "send dueDate or daysUntilDue, not both", "dueDate")


async def create_draft(
    pool: asyncpg.Pool,
    settings: Settings,
    company_id: uuid.UUID,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """A new draft: nothing is payable, everything may change until it is finalized."""
    _check_due(fields.get("due_at"), fields.get("days_until_due"))
    metadata = check_metadata(fields.get("metadata") or {})
    invoice_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        customer_id = await _check_customer(conn, company_id, fields["customer_id"])
        values = await _priced(conn, company_id, fields.get("invoice_currency"), fields["lines"])
        values |= {
            "customer_id": customer_id,
            "due_at": fields.get("due_at"),
            "days_until_due": fields.get("days_until_due"),
            "metadata": metadata,
            "notes": fields.get("notes"),
            "merchant_pays_fee": bool(fields.get("merchant_pays_fee")),
        }
        await db.insert_draft(conn, invoice_id, company_id, values)
        await emit(conn, settings, invoice_id, Event("invoice.draft", Status.DRAFT, MESSAGES[Status.DRAFT]))
        return await billing_view(conn, settings, invoice_id)


async def update_draft(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change the fields sent, only while the invoice is a draft (409 afterwards)."""
    async with pool.acquire() as conn, conn.transaction():
        inv = await db.lock_billing(conn, company_id, invoice_id)
        if inv is None:
            raise _not_found()
        if inv["status"] != Status.DRAFT:
            raise Conflict("invoice_not_draft", f"the invoice is {inv['status']}; only drafts can be edited", "status")
        values: dict[str, Any] = {}
        if "customer_id" in changes:
            values["customer_id"] = await _check_customer(conn, company_id, changes["customer_id"])
        if "lines" in changes or "invoice_currency" in changes:
            lines = changes.get("lines") or [
                LineRequest(
                    line["priceId"],
                    None if line["priceId"] else line["name"],
                    None if line["priceId"] else Decimal(line["unitAmount"]),
                    line["quantity"],
                )
                for line in inv["lines"]
            ]
            currency = changes.get("invoice_currency") or inv["invoice_currency"]
            values |= await _priced(conn, company_id, currency, lines)
        if "due_at" in changes:
            values |= {"due_at": changes["due_at"], "days_until_due": None}
        if "days_until_due" in changes:
            values |= {"days_until_due": changes["days_until_due"], "due_at": None}
        _check_due(changes.get("due_at"), changes.get("days_until_due"))
        if "metadata" in changes:
            values["metadata"] = check_metadata(changes["metadata"] or {})
        for key in ("notes", "merchant_pays_fee"):
            if key in changes:
                values[key] = changes[key]
        if values:
            await db.update_draft(conn, invoice_id, values, datetime.now(UTC))
            await emit(conn, settings, invoice_id, Event("invoice.updated", Status.DRAFT, "Draft invoice updated"))
        return await billing_view(conn, settings, invoice_id)


async def delete_draft(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID
) -> dict[str, Any]:
    """Delete a draft (kept in the database for its events, gone from the API); finalized ones are voided."""
    async with pool.acquire() as conn, conn.transaction():
        inv = await db.lock_billing(conn, company_id, invoice_id)
        if inv is None:
            raise _not_found()
        if inv["status"] != Status.DRAFT:
            raise Conflict(
                "invoice_not_draft", f"the invoice is {inv['status']}; only drafts can be deleted (void it)", "status"
            )
        await emit(conn, settings, invoice_id, Event("invoice.deleted", Status.DRAFT, "Draft invoice deleted"))
        await db.delete_draft(conn, invoice_id, datetime.now(UTC))
        return {"id": str(invoice_id), "deleted": True}


async def finalize(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID
) -> dict[str, Any]:
    """draft -> created (open): freeze the customer, the due date and the next reference INV-000123.
    Missing required data is a 409, with an ``invoice.finalization_failed`` event committed all the same."""
    failure: Conflict | None = None
    async with pool.acquire() as conn, conn.transaction():
        inv = await db.lock_billing(conn, company_id, invoice_id)
        if inv is None:
            raise _not_found()
        status = Status(inv["status"])
        if billing_action(status, "finalize", inv["has_payment"]) is None:
            raise Conflict(
                "invoice_not_draft", f"the invoice is {status.value}; only drafts can be finalized", "status"
            )
        now = datetime.now(UTC)
        customer = await db.fetch_customer(conn, company_id, inv["customer_id"])
        due = due_at(now, inv["due_at"], inv["days_until_due"])
        if customer is None or not customer["email"]:
            failure = Conflict("finalization_failed", "the customer has no email address", "customer.email")
        elif due is not None and due <= now:
            failure = Conflict("finalization_failed", "the due date has passed", "dueDate")
        if failure is not None:
            event = Event("invoice.finalization_failed", Status.DRAFT, f"Finalization failed: {failure.message}")
            await emit(conn, settings, invoice_id, event)
        else:
            assert customer is not None
            number = await db.take_reference_number(conn, company_id)  # last: the counter row stays locked
            await db.finalize(
                conn,
                invoice_id,
                reference=format_reference(number),
                customer={"id": str(customer["id"]), "email": customer["email"], "name": customer["name"]},
                due_at=due,
                now=now,
            )
            await emit(conn, settings, invoice_id, Event("invoice.finalized", Status.CREATED, "Invoice finalized"))
            return await billing_view(conn, settings, invoice_id)
    raise failure


ACTION_EVENTS = {"void": "invoice.voided", "mark_uncollectible": "invoice.uncollectible"}


async def close(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID, action: str
) -> dict[str, Any]:
    """Void an open invoice (never one with a payment seen) or mark it uncollectible."""
    async with pool.acquire() as conn, conn.transaction():
        inv = await db.lock_billing(conn, company_id, invoice_id)
        if inv is None:
            raise _not_found()
        status = Status(inv["status"])
        new = billing_action(status, action, inv["has_payment"])
        if new is None:
            why = "a payment was received" if inv["has_payment"] and action == "void" else f"it is {status.value}"
            raise Conflict("invalid_state", f"cannot {action.replace('_', ' ')} this invoice: {why}", "status")
        await db.close(conn, invoice_id, new.value, datetime.now(UTC))
        await emit(conn, settings, invoice_id, Event(ACTION_EVENTS[action], new, MESSAGES[new]))
        return await billing_view(conn, settings, invoice_id)


SENDABLE = frozenset({Status.CREATED, Status.PENDING, Status.EXPIRED})


async def send(pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, invoice_id: uuid.UUID) -> dict[str, Any]:
    """Email the open invoice to its customer (queued here, sent by the email job) with the page link."""
    if settings.smtp is None:
        raise Conflict("email_not_configured", "set COINVOICE_SMTP_URL to email invoices", None)
    async with pool.acquire() as conn, conn.transaction():
        inv = await db.lock_billing(conn, company_id, invoice_id)
        if inv is None:
            raise _not_found()
        status = Status(inv["status"])
        if status not in SENDABLE:
            raise Conflict("invalid_state", f"only open invoices can be sent; this one is {status.value}", "status")
        view = await billing_view(conn, settings, invoice_id)
        await queue_email(conn, settings, company_id, "invoice", inv["customer"]["email"], view)
        await emit(conn, settings, invoice_id, Event("invoice.sent", status, "Invoice emailed to the customer"))
        return view
