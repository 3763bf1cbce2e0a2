"""Record transfers to our addresses as deposits and re-derive the status of the invoices they touch."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import chain_watch as db
from coinvoice.db import companies as db_companies
from coinvoice.db import invoices as db_invoices
from coinvoice.db.connection import Conn
from coinvoice.domain.assets import CHAINS, PAYMENT_ASSETS
from coinvoice.domain.invoice import Status
from coinvoice.domain.money import fmt, from_base_units
from coinvoice.domain.state import DepositFacts, Event, InvoiceFacts, Policy, advance
from coinvoice.domain.transfers import BlockRef, NotCredited, Transfer, credit
from coinvoice.services.events import emit, emit_deposit_event

log = logging.getLogger(__name__)


async def record_transfers(
    conn: Conn,
    settings: Settings,
    *,
    chain: str,
    transfers: list[Transfer],
    block: BlockRef | None,
    tip: int,
    now: datetime,
    matched: dict[str, asyncpg.Record] | None = None,
) -> list[uuid.UUID]:
    """Record the transfers that reach our addresses (all from ``block``, or all from the mempool when None).

    Every one is recorded; it counts toward its invoice only when its asset (native coin or exact token
    contract) is the invoice's quoted one and it arrived before the late window closed. One that does not
    count is written with its reason and reported as a ``deposit.not_credited`` event.
    Call inside a transaction. Matching is one indexed query whatever the number of allocated addresses;
    pass ``matched`` (from match_addresses) when the caller already ran it.
    Returns the invoices whose status was re-derived.
    """
    if not transfers:
        return []
    if matched is None:
        matched = await match_addresses(conn, chain, {t.address for t in transfers})
    if not matched:
        return []
    seen_at = now if block is None or block.time is None else min(now, _utc(block.time, now))
    late_window = timedelta(hours=settings.late_payment_hours)
    deposits = []
    for t in transfers:
        row = matched.get(t.address)
        if row is None or t.amount_units <= 0:
            continue
        verdict = credit(t.asset, row["payment_currency"], seen_at, row["expires_at"], late_window)
        deposits.append(
            db.NewDeposit(
                company_id=row["company_id"],
                invoice_id=row["invoice_id"],
                address_id=row["address_id"],
                address=t.address,
                tag=t.tag,
                txid=t.txid,
                index=t.index,
                asset=t.asset,
                contract=t.contract,
                amount_units=t.amount_units,
                late=verdict.late,
                credited=verdict.credited,
                reason=verdict.reason.value if verdict.reason else None,
            )
        )
    if not deposits:
        return []
    changed = await db.upsert_deposits(
        conn,
        chain=chain,
        deposits=deposits,
        block=block,
        confirmations=0 if block is None else max(tip - block.height + 1, 0),
        seen_at=seen_at,
        now=now,
    )
    late_new: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for r in changed:
        if not r["inserted"]:
            continue
        if not r["credited"]:
            await _report_not_credited(conn, settings, chain, r, now)
        elif r["late"]:
            late_new.setdefault(r["invoice_id"], []).append(r)
    invoice_ids = list(dict.fromkeys(r["invoice_id"] for r in changed if r["credited"]))
    await rederive(conn, settings, invoice_ids, now, late_new)
    return invoice_ids


async def match_addresses(conn: Conn, chain: str, addresses: Iterable[str]) -> dict[str, asyncpg.Record]:
    """Our allocated addresses among ``addresses`` (one indexed query), by address."""
    return {r["address"]: r for r in await db.match_addresses(conn, chain, list(addresses))}


async def rederive(
    conn: Conn,
    settings: Settings,
    invoice_ids: Iterable[uuid.UUID],
    now: datetime,
    late_new: dict[uuid.UUID, list[asyncpg.Record]] | None = None,
) -> None:
    """Lock each invoice (in id order), derive its status from its deposits, write it and emit its events."""
    for invoice_id in sorted(set(invoice_ids)):
        inv = await db.lock_invoice_facts(conn, invoice_id)
        if inv is None or inv["due_units"] is None:
            continue
        code = inv["payment_currency"]
        facts = InvoiceFacts(Status(inv["status"]), inv["expires_at"], int(inv["due_units"]), inv["resolution"])
        deposits = [
            DepositFacts(int(d["amount_units"]), d["confirmations"], d["seen_at"], d["state"] == "orphaned")
            for d in await db.invoice_deposits(conn, invoice_id)
        ]
        policy = await _policy(conn, settings, inv["company_id"], code, inv["decimals"])
        status, events = advance(facts, deposits, now, policy)
        if events:
            await db_invoices.set_status(conn, invoice_id, status.value, now)
            for event in events:
                await emit(conn, settings, invoice_id, event)
        for dep in (late_new or {}).get(invoice_id, []):
            await _report_late(conn, settings, inv, status, dep)


async def orphan_blocks_above(conn: Conn, settings: Settings, chain: str, height: int, now: datetime) -> int:
    """A reorg replaced every block above ``height``: orphan their deposits and re-derive; returns invoices hit."""
    invoice_ids = await db.orphan_above(conn, chain, height, now)
    await rederive(conn, settings, invoice_ids, now)
    return len(invoice_ids)


async def drop_unmined(conn: Conn, settings: Settings, chain: str, txids: list[str], now: datetime) -> int:
    """Transactions that left the mempool without being mined (replaced, double-spent, evicted)."""
    invoice_ids = await db.orphan_txids(conn, chain, txids, now)
    await rederive(conn, settings, invoice_ids, now)
    return len(invoice_ids)


async def refresh_confirmations(conn: Conn, settings: Settings, chain: str, tip: int, now: datetime) -> int:
    """Recount confirmations against ``tip`` and re-derive invoices whose deposits just became confirmed."""
    needed = {code: settings.confirmations_for(code) for code in PAYMENT_ASSETS if PAYMENT_ASSETS[code].chain == chain}
    default = settings.confirmations_for(CHAINS[chain].native)
    invoice_ids = await db.refresh_confirmations(conn, chain, tip, needed, default, db.KEEP_BLOCKS, now)
    await rederive(conn, settings, invoice_ids, now)
    return len(invoice_ids)


async def _policy(conn: Conn, settings: Settings, company_id: uuid.UUID, code: str, decimals: int) -> Policy:
    payment = PAYMENT_ASSETS[code]
    static, percent = await db_companies.underpayment_limit(conn, company_id, payment.asset)
    static_units = int(Decimal(static).scaleb(decimals).to_integral_value(rounding=ROUND_FLOOR))
    return Policy(settings.confirmations_for(code), static_units, Decimal(percent))


async def _report_late(
    conn: Conn, settings: Settings, inv: asyncpg.Record, status: Status, dep: asyncpg.Record
) -> None:
    amount = f"{fmt(from_base_units(int(dep['amount_units']), inv['decimals']))} {inv['payment_currency']}"
    message = f"Payment of {amount} received after the invoice expired (tx {dep['txid']})"
    await emit(conn, settings, inv["id"], Event("invoice.late_payment", status, message))


async def _report_not_credited(conn: Conn, settings: Settings, chain: str, dep: asyncpg.Record, now: datetime) -> None:
    """A transfer to our address that does not count: logged, and sent to the merchant as an event."""
    why = dep["reason"]
    if why == NotCredited.AFTER_LATE_WINDOW:
        why = f"it arrived after the {settings.late_payment_hours}h monitoring window"
    log.warning(
        "%s payment %s:%d of %s units of %s to %s (invoice %s) recorded, not credited: %s",
        chain,
        dep["txid"],
        dep["output_index"],
        dep["amount_units"],
        dep["asset"] or f"token {dep['contract']}",
        dep["address"],
        dep["invoice_id"],
        why,
    )
    await emit_deposit_event(conn, settings, "deposit.not_credited", dep["id"], now)


def _utc(timestamp: int, now: datetime) -> datetime:
    return datetime.fromtimestamp(timestamp, now.tzinfo)
