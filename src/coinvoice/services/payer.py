"""What the hosted payer page reads: the invoice view and the payment assets the payer may choose."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import companies as db_companies
from coinvoice.db import invoices as db
from coinvoice.domain.assets import CHAINS, PAYMENT_ASSETS, PaymentAsset
from coinvoice.domain.errors import NotFound
from coinvoice.services.views import invoice_view, public_view, wire_time


@dataclass(frozen=True, slots=True)
class PayerInvoice:
    view: dict[str, Any]
    choices: tuple[PaymentAsset, ...]  # what the payer may pick while the invoice is created
    support_url: str | None = None  # the merchant's support contact, shown when something went wrong
    support_email: str | None = None
    updated_at: str | None = None  # when the status last changed (the receipt's time once done)
    brand_color: str | None = None  # the merchant's accent (#rrggbb), served as a stylesheet


def payable_assets(allowed: dict[str, bool], wallet_chains: set[str]) -> tuple[PaymentAsset, ...]:
    """Payment assets of allowed company assets on chains where the merchant has a wallet (key or address)."""
    return tuple(p for p in PAYMENT_ASSETS.values() if allowed.get(p.asset) and p.chain in wallet_chains)


async def payer_invoice(pool: asyncpg.Pool, settings: Settings, invoice_id: uuid.UUID) -> PayerInvoice:
    row = await db.fetch_view_row(pool, invoice_id)
    if row is None or row["status"] == "draft" or row["deleted_at"] is not None:  # drafts are the merchant's
        raise NotFound("invoice_not_found", "no invoice with this id", "id")
    choices: tuple[PaymentAsset, ...] = ()
    if row["status"] == "created" and not row["preset_currency"]:
        chains = await db_companies.wallet_chains(pool, row["company_id"])
        choices = payable_assets(row["assets"], chains)
        if row["kind"] == "unlimited":  # any amount needs an address of its own
            choices = tuple(c for c in choices if CHAINS[c.chain].derives_addresses)
    return PayerInvoice(
        public_view(invoice_view(row, settings)),
        choices,
        row["support_url"],
        row["support_email"],
        wire_time(row["updated_at"]),
        row["brand_color"],
    )
