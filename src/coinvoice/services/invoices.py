"""Invoice use cases: create a regular invoice, fill it (proceed), read it, expire unpaid ones."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from typing import Any

import asyncpg

from coinvoice.addresses.derive import derive_address
from coinvoice.addresses.shared import new_comment, new_reference
from coinvoice.config import Settings
from coinvoice.db import companies as db_companies
from coinvoice.db import invoices as db
from coinvoice.db import unlimited as db_unlimited
from coinvoice.db.companies import CompanyProfile
from coinvoice.db.connection import Conn, ConnOrPool
from coinvoice.db.invoice_inserts import InvoiceInserts
from coinvoice.domain.assets import CHAINS, PAYMENT_ASSETS
from coinvoice.domain.errors import Conflict, Invalid, NotFound, Unavailable
from coinvoice.domain.fees import Quote, make_quote
from coinvoice.domain.invoice import CLOSED, Item, Status, price_items
from coinvoice.domain.money import fmt, from_base_units
from coinvoice.domain.shared_address import MAX_EXTRA_UNITS, unique_due
from coinvoice.domain.state import MESSAGES, Event
from coinvoice.domain.text import email_problem
from coinvoice.logcontext import REQUEST_ID
from coinvoice.rates.service import Pricing, RateService
from coinvoice.services.billing_payment import reopen_if_lapsed
from coinvoice.services.events import emit, emit_with_view, event_payload
from coinvoice.services.rates import rate_sources_json
from coinvoice.services.unlimited import check_asset as check_unlimited_asset
from coinvoice.services.views import invoice_view, public_view

log = logging.getLogger(__name__)
#: Tries at the next derivation index when an address is already taken (another company set the same key).
MAX_ADDRESS_TRIES = 20
PENDING = Event("invoice.pending", Status.PENDING, MESSAGES[Status.PENDING])


@dataclass(frozen=True, slots=True)
class NewInvoice:
    invoice_currency: str
    items: list[Item]
    merchant_pays_fee: bool
    payment_currency: str | None
    redirect_url: str | None


def _same_number(price: Decimal) -> str:
    """One spelling per value: "5", 5 and "5.00" are the same price."""
    return "0" if price.is_zero() else f"{price.normalize(Context(prec=60)):f}"


def _request_hash(new: NewInvoice) -> bytes:
    """The normalised request an Idempotency-Key is bound to (docs/api.md, "Idempotency"): currency codes in lower
    case, prices by value, defaults filled in; unknown fields play no part."""
    canon = {
        "invoiceCurrency": new.invoice_currency,
        "items": [[i.name, _same_number(i.price)] for i in new.items],
        "isMerchantPaysFee": new.merchant_pays_fee,
        "paymentCurrency": new.payment_currency,
        "redirectURL": new.redirect_url,
    }
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).digest()


async def get_view(pool: ConnOrPool, settings: Settings, invoice_id: uuid.UUID) -> dict[str, Any]:
    row = await db.fetch_view_row(pool, invoice_id)
    if row is None or row["status"] == Status.DRAFT or row["deleted_at"] is not None:  # drafts are the merchant's
        raise NotFound("invoice_not_found", "no invoice with this id", "id")
    return public_view(invoice_view(row, settings))


async def create_regular(
    pool: asyncpg.Pool,
    settings: Settings,
    company: CompanyProfile,
    new: NewInvoice,
    idempotency_key: str | None,
    inserts: InvoiceInserts,
) -> tuple[dict[str, Any], bool]:
    """Create an invoice; returns (view, replayed). A reused idempotency key replays the first invoice.

    ``inserts`` (the app's group commit) writes it together with the creates that arrive meanwhile."""
    if new.payment_currency is not None and new.payment_currency not in PAYMENT_ASSETS:
        raise Invalid(
            "unknown_payment_currency",
            f"paymentCurrency must be one of {', '.join(PAYMENT_ASSETS)}",
            "paymentCurrency",
        )
    items, total = price_items(new.invoice_currency, new.items)
    request_hash = _request_hash(new) if idempotency_key is not None else None
    invoice_id = uuid.uuid4()
    now = datetime.now(UTC)
    row = {
        "id": invoice_id,
        "company_id": company.id,
        "status": Status.CREATED.value,
        "invoice_currency": new.invoice_currency,
        "items": [{"name": i.name, "price": fmt(i.price)} for i in items],
        "total": total,
        "merchant_pays_fee": new.merchant_pays_fee,
        "preset_currency": new.payment_currency,
        "payment_currency": None,
        "redirect_url": new.redirect_url or company.redirect_url,
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
        "created_at": now,
        "filled_at": None,
        "company_name": company.name,
        "logo_url": company.logo_url,
        "assets": company.assets,
    }
    view = invoice_view(row, settings)
    event = Event("invoice.created", Status.CREATED, MESSAGES[Status.CREATED])
    event_id = uuid.uuid4()
    payload = event_payload(event_id, event, view, now)
    created = {"id": event_id, "type": event.type, "payload": payload, "request_id": REQUEST_ID.get()}
    if await inserts.insert(row, created):
        return view, False
    async with pool.acquire() as conn:
        first = await db.find_by_idempotency_key(conn, company.id, idempotency_key or "")
        if first is None or first["request_hash"] is None or bytes(first["request_hash"]) != request_hash:
            raise Conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
                "Idempotency-Key",
            )
        return await get_view(conn, settings, first["id"]), True


async def _allocate_address(
    conn: Conn,
    settings: Settings,
    company_id: uuid.UUID,
    invoice_id: uuid.UUID,
    chain: str,
    reserved: list[db_companies.ReservedIndex],
) -> None:
    """Derive the next never-used address of the company's wallet on ``chain`` and bind it to the invoice; the
    index reserved before the transaction is used first (and taken out of ``reserved``) if it fits."""
    network = settings.chain(chain).network
    for _ in range(MAX_ADDRESS_TRIES):  # the index resumes after the key's highest ever used: collisions are rare
        if reserved and reserved[0].company_id == company_id and reserved[0].chain == chain:
            spare = reserved.pop()
            taken: tuple[str, int] | None = (spare.xpub, spare.derivation_index)
        else:
            taken = await db_companies.take_derivation_index(conn, company_id, chain)
        if taken is None:
            raise Invalid("wallet_required", f"the merchant has no {chain} wallet", "paymentCurrency")
        xpub, index = taken
        address = derive_address(chain, network, xpub, index)
        if await db.insert_address(
            conn,
            chain=chain,
            address=address,
            tag=None,
            index=index,
            company_id=company_id,
            invoice_id=invoice_id,
        ):
            return
    raise Conflict("address_exhausted", "could not find an unused deposit address", "paymentCurrency")


async def _allocate_on_shared_address(
    conn: Conn, company_id: uuid.UUID, invoice_id: uuid.UUID, chain: str, due_units: int
) -> int:
    """Bind the invoice to the company's one address on ``chain`` with a fresh comment or reference key, and
    return its amount due made unique among the open invoices on that address (a few base units added)."""
    address = await db_companies.take_shared_address(conn, company_id, chain)  # locks: fills take turns
    if address is None:
        raise Invalid("wallet_required", f"the merchant has no {chain} address", "paymentCurrency")
    taken = await db.open_dues(conn, chain, address, due_units, due_units + MAX_EXTRA_UNITS)
    unique = unique_due(due_units, taken)
    if unique is None:
        raise Conflict(
            "amount_exhausted",
            f"{MAX_EXTRA_UNITS + 1} open invoices on this address already ask about this amount; try again later",
            "paymentCurrency",
        )
    tagged = CHAINS[chain].needs_tag
    for _ in range(100):  # a comment or reference key is never handed out twice on an address
        if await db.insert_address(
            conn,
            chain=chain,
            address=address,
            tag=new_comment() if tagged else None,
            reference=None if tagged else new_reference(),
            index=None,
            company_id=company_id,
            invoice_id=invoice_id,
            shared=True,
        ):
            return unique
    raise Conflict("address_exhausted", "could not find an unused comment for this address", "paymentCurrency")


def price_in(
    rates: RateService, settings: Settings, currency: str, total: Decimal, merchant_pays_fee: bool, code: str
) -> tuple[Pricing, Quote]:
    """What ``total`` in ``currency`` costs in payment asset ``code`` now, from the cached rates (never waits)."""
    pricing = rates.pricing(currency, code, payer_pays_fee=not merchant_pays_fee)
    quote = make_quote(
        total,
        pricing.rate.value,
        settings.fee_for(code),
        PAYMENT_ASSETS[code].decimals,
        merchant_pays_fee,
        network_fee=pricing.network_fee,
        network_fee_max_percent=settings.network_fee_max_percent,
    )
    return pricing, quote


async def picker_amounts(
    pool: asyncpg.Pool, settings: Settings, rates: RateService, view: dict[str, Any], codes: list[str]
) -> dict[str, Decimal]:
    """What the payer would send in each of ``codes`` if they filled the invoice now (the asset picker shows it;
    the fill freezes its own quote). An asset without a fresh rate is left out; a priceless invoice has none."""
    content = view.get("invoiceContent")
    if not content or not codes:
        return {}
    await rates.ready(pool)
    amounts = {}
    for code in codes:
        try:
            _, quote = price_in(
                rates,
                settings,
                content["invoiceCurrency"],
                Decimal(content["total"]),
                content["isMerchantPaysFee"],
                code,
            )
        except Unavailable:
            continue
        amounts[code] = from_base_units(quote.due_units, PAYMENT_ASSETS[code].decimals)
    return amounts


async def fill(
    pool: asyncpg.Pool,
    settings: Settings,
    rates: RateService,
    invoice_id: uuid.UUID,
    email: str,
    payment_currency: str | None,
) -> dict[str, Any]:
    """The payer's proceed: freeze a quote, allocate an address, start the expiry clock (-> pending)."""
    if email_problem(email):
        raise Invalid("invalid_email", "clientEmail must be a valid email address", "clientEmail")
    await rates.ready(pool)  # this process's copy of the rate cache, read before any row is locked
    async with pool.acquire() as conn:
        reserved = await _reserve_index(conn, invoice_id, payment_currency)
        reservation = reserved[0] if reserved else None
        try:
            async with conn.transaction():
                view = await _fill_locked(conn, settings, rates, invoice_id, email, payment_currency, reserved)
        except BaseException:
            if reservation:  # rolled back with the fill: give it back if the connection still works
                with contextlib.suppress(Exception):
                    await db_companies.release_derivation_index(conn, reservation)
            raise
        if reserved:  # not used: the fill had nothing to do (filled meanwhile, or another asset after all)
            await db_companies.release_derivation_index(conn, reserved[0])
        return view


async def _reserve_index(
    conn: Conn, invoice_id: uuid.UUID, payment_currency: str | None
) -> list[db_companies.ReservedIndex]:
    """The derivation index a fill with ``payment_currency`` will need, taken before its transaction (see
    db.companies.reserve_derivation_index); empty when it cannot be known or is not needed yet."""
    asset = PAYMENT_ASSETS.get(payment_currency or "")
    if asset is None or not CHAINS[asset.chain].derives_addresses:
        return []
    taken = await db_companies.reserve_derivation_index(conn, invoice_id, asset.code, asset.asset, asset.chain)
    return [taken] if taken else []


async def _fill_locked(
    conn: Conn,
    settings: Settings,
    rates: RateService,
    invoice_id: uuid.UUID,
    email: str,
    payment_currency: str | None,
    reserved: list[db_companies.ReservedIndex],
) -> dict[str, Any]:
    inv = await db.lock_invoice(conn, invoice_id)
    if inv is None:
        raise NotFound("invoice_not_found", "no invoice with this id", "id")
    if inv["kind"] == "billing" and await reopen_if_lapsed(conn, settings, invoice_id, datetime.now(UTC)):
        inv = await db.lock_invoice(conn, invoice_id)
        assert inv is not None
    status = Status(inv["status"])
    if status is Status.DRAFT or inv["deleted_at"] is not None:
        raise NotFound("invoice_not_found", "no invoice with this id", "id")
    if status in CLOSED:
        raise Conflict("invoice_closed", f"the invoice is {status.value} and cannot be filled", "status")
    if status is Status.PENDING and inv["expires_at"] <= datetime.now(UTC):
        raise Conflict("invoice_expired", "the invoice has expired and cannot be paid", "status")
    if status is not Status.CREATED:
        return await get_view(conn, settings, invoice_id)
    code = inv["preset_currency"] or payment_currency
    if code is None:
        raise Invalid("required", "paymentCurrency is required", "paymentCurrency")
    asset = PAYMENT_ASSETS.get(code)
    if asset is None:
        raise Invalid(
            "unknown_payment_currency",
            f"paymentCurrency must be one of {', '.join(PAYMENT_ASSETS)}",
            "paymentCurrency",
        )
    if asset.asset not in inv["allowed_assets"]:
        raise Invalid("asset_not_allowed", f"the merchant does not accept {code}", "paymentCurrency")
    if inv["kind"] == "unlimited":
        return await _fill_unlimited(conn, settings, inv, email, code, reserved)
    # synchronous on purpose: a quote comes from the cached rates, nothing here can wait on a provider
    pricing, quote = price_in(
        rates, settings, inv["invoice_currency"], Decimal(inv["total"]), inv["merchant_pays_fee"], code
    )
    now = datetime.now(UTC)
    if CHAINS[asset.chain].derives_addresses:
        due_units = quote.due_units
        await _allocate_address(conn, settings, inv["company_id"], invoice_id, asset.chain, reserved)
    else:
        due_units = await _allocate_on_shared_address(conn, inv["company_id"], invoice_id, asset.chain, quote.due_units)
    expires = now + timedelta(minutes=settings.expiry_for(code))
    await db.fill_with_quote(
        conn,
        invoice_id,
        {
            "asset": code,
            "decimals": asset.decimals,
            "rate": quote.rate,
            "fee_units": quote.fee_units,
            "due_units": due_units,
            "rate_source": pricing.rate.summary,
            "rate_sources": rate_sources_json(pricing.rate.sources),
            "spread_percent": pricing.rate.spread_percent,
            "network_fee_units": quote.network_fee_units,
            "network_fee_source": pricing.network_fee_source,
            "quoted_at": now,
        },
        email=email,
        payment_currency=code,
        filled_at=now,
        expires_at=expires,
    )
    _, view = await emit_with_view(conn, settings, invoice_id, PENDING)
    return public_view(view)


async def _fill_unlimited(
    conn: Conn,
    settings: Settings,
    inv: asyncpg.Record,
    email: str,
    code: str,
    reserved: list[db_companies.ReservedIndex],
) -> dict[str, Any]:
    """An any-amount invoice: no quote, a derived address of its own, and a deposit window (pending) of
    COINVOICE_UNLIMITED_OPEN_HOURS unless the merchant closes it first."""
    check_unlimited_asset(code)
    asset = PAYMENT_ASSETS[code]
    now = datetime.now(UTC)
    await _allocate_address(conn, settings, inv["company_id"], inv["id"], asset.chain, reserved)
    await db_unlimited.set_payment_currency(conn, inv["id"], code)
    expires = now + timedelta(hours=settings.unlimited_open_hours)
    await db.mark_filled(conn, inv["id"], email=email, payment_currency=code, filled_at=now, expires_at=expires)
    _, view = await emit_with_view(conn, settings, inv["id"], PENDING)
    return public_view(view)


async def expire_due_invoices(pool: asyncpg.Pool, settings: Settings, now: datetime | None = None) -> int:
    """Expire one bounded batch of unpaid invoices past their expiry; returns how many."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        ids = await db.expire_due(conn, now, settings.expiry_batch)
        for invoice_id in ids:
            await emit(conn, settings, invoice_id, Event("invoice.expired", Status.EXPIRED, MESSAGES[Status.EXPIRED]))
    if ids:
        log.info("expired %d invoices", len(ids))
    return len(ids)
