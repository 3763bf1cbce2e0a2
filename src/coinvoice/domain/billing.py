"""Billing rules: line items and their totals, metadata bounds, due dates, references and event names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from coinvoice.domain.assets import PRICE_PRECISION
from coinvoice.domain.errors import Invalid
from coinvoice.domain.money import round_price

MAX_LINES = 250
MAX_QUANTITY = 1_000_000
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_NOTES = 5000
MAX_DAYS_UNTIL_DUE = 3650


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a billing invoice: from a price (``price_id``) or free (``name`` and ``unit_amount``)."""

    name: str
    unit_amount: Decimal
    quantity: int
    price_id: str | None = None

    def amount(self, places: int) -> Decimal:
        return round_price(self.unit_amount, places) * self.quantity


def price_lines(currency: str, lines: list[Line]) -> tuple[list[dict[str, object]], Decimal]:
    """The stored lines (unit amounts rounded to the currency's precision) and their positive total."""
    if not lines:
        raise Invalid("empty_items", "an invoice needs at least one line item", "lineItems")
    places = PRICE_PRECISION[currency]
    out: list[dict[str, object]] = []
    total = Decimal(0)
    for n, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise Invalid("out_of_range", f"quantity must be 1 to {MAX_QUANTITY}", f"lineItems[{n}].quantity")
        amount = line.amount(places)
        total += amount
        out.append(
            {
                "priceId": line.price_id,
                "name": line.name,
                "unitAmount": round_price(line.unit_amount, places),
                "quantity": line.quantity,
                "amount": amount,
            }
        )
    if total <= 0:
        raise Invalid("total_not_positive", "the total of all line items must be greater than 0", "lineItems")
    return out, total


def check_metadata(metadata: dict[str, str], field: str = "metadata") -> dict[str, str]:
    """String keys and values of bounded size and number (Stripe's limits)."""
    if len(metadata) > MAX_METADATA_KEYS:
        raise Invalid("too_many", f"{field} may hold at most {MAX_METADATA_KEYS} keys", field)
    for key, value in metadata.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY:
            raise Invalid("invalid_metadata", f"{field} keys must be 1 to {MAX_METADATA_KEY} characters", field)
        if len(value) > MAX_METADATA_VALUE:
            raise Invalid("invalid_metadata", f"{field} values must be at most {MAX_METADATA_VALUE} characters", field)
    return metadata


def due_at(finalized_at: datetime, due_date: datetime | None, days_until_due: int | None) -> datetime | None:
    """When a finalized invoice falls due: its ``dueDate``, else ``daysUntilDue`` days after finalization."""
    if due_date is not None:
        return due_date
    if days_until_due is not None:
        return finalized_at + timedelta(days=days_until_due)
    return None


def format_reference(number: int) -> str:
    """The human reference of the company's ``number``-th finalized invoice: INV-000123."""
    return f"INV-{number:06d}"


#: Our event type -> the Solidgate-style type carried beside it in every payload. Stripe's names are in
#: docs/billing.md; ours are ``invoice.<what happened>``.
EVENT_NAMES = {
    "invoice.draft": "INVOICE_CREATED",
    "invoice.updated": "INVOICE_UPDATED",
    "invoice.finalized": "INVOICE_FINALIZED",
    "invoice.finalization_failed": "INVOICE_FINALIZATION_FAILED",
    "invoice.created": "INVOICE_CREATED",
    "invoice.pending": "INVOICE_PAYMENT_PENDING",
    "invoice.processing": "INVOICE_PAYMENT_PROCESSING",
    "invoice.done": "INVOICE_PAID",
    "invoice.wrong": "INVOICE_UNDERPAID",
    "invoice.refunded": "INVOICE_REFUNDED",
    "invoice.failed": "INVOICE_FAILED",
    "invoice.expired": "INVOICE_EXPIRED",
    "invoice.overdue": "INVOICE_OVERDUE",
    "invoice.reversed": "INVOICE_PAYMENT_REVERSED",
    "invoice.voided": "INVOICE_VOIDED",
    "invoice.uncollectible": "INVOICE_MARKED_UNCOLLECTIBLE",
    "invoice.deleted": "INVOICE_DELETED",
    "invoice.sent": "INVOICE_SENT",
    "invoice.quote_renewed": "INVOICE_QUOTE_RENEWED",
    "deposit.not_credited": "DEPOSIT_NOT_CREDITED",
}


def solidgate_type(event_type: str) -> str:
    """The Solidgate-style name of one of our event types (upper-cased when it has no entry)."""
    return EVENT_NAMES.get(event_type) or event_type.replace(".", "_").upper()


def billing_fields(row: Any, public_url: str, wire_time: Callable[[Any], str | None]) -> dict[str, Any]:
    """The billing part of an invoice's wire view (``kind`` billing): reference, customer, lines, due date."""
    lines = row["lines"] or []
    return {
        "kind": "billing",
        "reference": row["billing_reference"],
        "customerId": str(row["customer_id"]) if row["customer_id"] else None,
        "customer": row["customer"],
        "lineItems": lines,
        "dueDate": wire_time(row["due_at"]),
        "daysUntilDue": row["days_until_due"],
        "metadata": row["metadata"] or {},
        "notes": row["notes"],
        "finalizedAt": wire_time(row["finalized_at"]),
        "closedAt": wire_time(row["closed_at"]),
        "hostedUrl": None if row["status"] == "draft" else f"{public_url}/{row['id']}",
    }
