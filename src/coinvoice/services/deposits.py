"""Record transfers to our addresses as deposits and re-derive the status of the invoices they touch."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import chain_watch as db
from coinvoice.db import companies as db_companies
from coinvoice.db import invoices as db_invoices
from coinvoice.db import unlimited as db_unlimited
from coinvoice.db.connection import Conn
from coinvoice.domain.assets import CHAINS, PAYMENT_ASSETS
from coinvoice.domain.invoice import Status
from coinvoice.domain.money import fmt, from_base_units
from coinvoice.domain.shared_address import SharedInvoice, match_shared, normalize_comment
from coinvoice.domain.state import DepositFacts, Event, InvoiceFacts, Policy, advance
from coinvoice.domain.transfers import BlockRef, NotCredited, Transfer, credit
from coinvoice.services.events import emit, emit_credited, emit_deposit_event

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
    count is written with its reason and reported as a ``deposit.not_credited`` event. On a company's shared
    address (chains without derived addresses) the transfer's comment, reference key or exact amount picks the
    invoice; a transfer that picks none is recorded as ``no_invoice``. Call inside a transaction. Matching is one indexed query whatever the number of allocated addresses;
    pass ``matched`` (from match_addresses) when the caller already ran it.
    Returns the invoices whose status was re-derived.
    """
    if not transfers:
        return []
    if matched is None:
        matched = await match_addresses(conn, chain, {t.address for t in transfers})
    recipients: dict[tuple[str, int], Recipient] = {}
    for t in transfers:
        if (row := matched.get(t.address)) is not None:
            recipients[(t.txid, t.index)] = Recipient(
                row["company_id"], row["invoice_id"], row["address_id"], row["payment_currency"], row["expires_at"]
            )
    shared = [t for t in transfers if t.address not in matched]
    if shared and not CHAINS[chain].derives_addresses:
        recipients.update(await match_shared_addresses(conn, chain, shared))
    if not recipients:
        return []
    seen_at = now if block is None or block.time is None else min(now, _utc(block.time, now))
    late_window = timedelta(hours=settings.late_payment_hours)
    deposits = []
    for t in transfers:
        to = recipients.get((t.txid, t.index))
        if to is None or t.amount_units <= 0:
            continue
        verdict = credit(t.asset, to.payment_currency, seen_at, to.expires_at, late_window)
        deposits.append(
            db.NewDeposit(
                company_id=to.company_id,
                invoice_id=to.invoice_id,
                address_id=to.address_id,
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
    await report_credited(conn, settings, [r for r in changed if r["inserted"] and r["credited"]], now)
    return invoice_ids


async def report_credited(conn: Conn, settings: Settings, new: list[Any], now: datetime) -> None:
    """An any-amount invoice reports every deposit credited to it, with the running total, as it arrives."""
    if not new:
        return
    unlimited = await db_unlimited.credited_unlimited(conn, list({r["invoice_id"] for r in new}))
    for r in new:
        if r["invoice_id"] in unlimited:
            await emit_credited(conn, settings, r["invoice_id"], r["id"], now)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a transfer reaches: a company and, when one matched, its invoice (quoted asset and expiry)."""

    company_id: uuid.UUID
    invoice_id: uuid.UUID | None
    address_id: uuid.UUID | None
    payment_currency: str | None
    expires_at: datetime | None


async def match_shared_addresses(conn: Conn, chain: str, transfers: list[Transfer]) -> dict[tuple[str, int], Recipient]:
    """Transfers to companies' shared addresses, each with the invoice its comment, reference key or exact
    amount names (domain.shared_address.match_shared), or with none: then it is recorded as ``no_invoice``.

    Two indexed queries whatever the number of invoices on the address.
    """
    addresses = sorted({t.address for t in transfers})
    owners = await db.shared_owners(conn, chain, addresses)
    if not owners:
        return {}
    comments = sorted({c for t in transfers if (c := normalize_comment(t.tag)) is not None})
    references = sorted({r for t in transfers for r in t.references})
    amounts = sorted({t.amount_units for t in transfers})
    rows = await db.shared_candidates(conn, chain, list(owners), comments, references, amounts)
    by_address: dict[str, list[SharedInvoice]] = {}
    by_invoice = {}
    for r in rows:
        by_address.setdefault(r["address"], []).append(
            SharedInvoice(r["invoice_id"], r["tag"], r["reference"], int(r["due_units"]), r["open"])
        )
        by_invoice[r["invoice_id"]] = r
    found = {}
    for t in transfers:
        if t.address not in owners:
            continue
        invoice = match_shared(t.tag, t.references, t.amount_units, by_address.get(t.address, []))
        if invoice is None:
            found[(t.txid, t.index)] = Recipient(owners[t.address], None, None, None, None)
            continue
        r = by_invoice[invoice.invoice_id]
        found[(t.txid, t.index)] = Recipient(
            r["company_id"], r["invoice_id"], r["address_id"], r["payment_currency"], r["expires_at"]
        )
    return found


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
        kind = inv["kind"] if inv is not None else "regular"
        if inv is None or inv["expires_at"] is None or (inv["due_units"] is None and kind != "unlimited"):
            continue
        code = inv["payment_currency"]
        due = None if inv["due_units"] is None else int(inv["due_units"])
        decimals = inv["decimals"] if inv["decimals"] is not None else PAYMENT_ASSETS[code].decimals
        facts = InvoiceFacts(Status(inv["status"]), inv["expires_at"], due, inv["resolution"])
        deposits = [
            DepositFacts(
                int(d["amount_units"]), d["confirmations"], d["seen_at"], d["state"] == "orphaned", d["accepted"]
            )
            for d in await db.invoice_deposits(conn, invoice_id)
        ]
        policy = await _policy(conn, settings, inv["company_id"], code, decimals)
        status, events = advance(facts, deposits, now, policy, kind)
        if events:
            await db_invoices.set_status(conn, invoice_id, status.value, now)
            for event in events:
                await emit(conn, settings, invoice_id, event)
        for dep in (late_new or {}).get(invoice_id, []):
            await _report_late(conn, settings, inv, decimals, status, dep)


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


async def reverse_vanished(conn: Conn, settings: Settings, chain: str, txids: list[str], now: datetime) -> int:
    """Transactions the node no longer returns (a dropped fork on a chain followed per address): a reversal."""
    invoice_ids = await db.orphan_unconfirmed(conn, chain, txids, now)
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
    conn: Conn, settings: Settings, inv: asyncpg.Record, decimals: int, status: Status, dep: asyncpg.Record
) -> None:
    amount = f"{fmt(from_base_units(int(dep['amount_units']), decimals))} {inv['payment_currency']}"
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
