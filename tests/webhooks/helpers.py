"""Helpers for webhook tests: make events happen, read them back, and check what the receiver got."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from coinvoice.webhooks.signing import verify_legacy_signature, verify_signature
from tests.api.invoice_setup import CREATE, sql
from tests.webhooks.receiver import Received, Receiver


async def events_by_invoice(db_url: str) -> dict[str, list[str]]:
    """Every event id per invoice, in the order they were written."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in await sql(db_url, "SELECT id, invoice_id FROM events ORDER BY seq"):
        out[str(r["invoice_id"])].append(str(r["id"]))
    return dict(out)


async def make_wrong(db_url: str, invoice_id: str) -> None:
    """Put a pending invoice in `wrong` as the chain watcher would (its event is the watcher's concern)."""
    await sql(db_url, "UPDATE invoices SET status = 'wrong' WHERE id = $1", uuid.UUID(invoice_id))


async def add_late_deposit(db_url: str, invoice_id: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "INSERT INTO deposits (id, invoice_id, address_id, company_id, address, chain, txid, output_index, asset,"
            " amount_units, confirmations, state, late)"
            " SELECT $1, a.invoice_id, a.id, a.company_id, a.address, 'litecoin', $3, 0, 'ltc', 1000, 6, 'confirmed',"
            " true FROM addresses a WHERE a.invoice_id = $2",
            uuid.uuid4(),
            uuid.UUID(invoice_id),
            uuid.uuid4().hex * 2,
        )
    finally:
        await conn.close()


def later() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def delivered_by_invoice(receiver: Receiver) -> dict[str, list[str]]:
    """Event ids per invoice in the order the receiver first accepted them."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in receiver.delivered:
        p = r.payload
        if p["eventId"] not in out[p["invoiceId"]]:
            out[p["invoiceId"]].append(p["eventId"])
    return dict(out)


def check_signatures_by_hand(received: Received, secret_keys: list[str], legacy_too: bool = True) -> None:
    """Verify both headers with hmac alone, as a merchant without our package would."""
    legacy = received.headers["signature"]
    assert not legacy_too or any(
        hmac.compare_digest(hmac.new(k.encode(), received.body, hashlib.sha512).hexdigest(), legacy)
        for k in secret_keys
    )
    parts = [p.split("=", 1) for p in received.headers["Coinvoice-Signature"].split(",")]
    t = next(v for k, v in parts if k == "t")
    v1 = [v for k, v in parts if k == "v1"]
    assert abs(time.time() - int(t)) < 300
    expected = {
        hmac.new(k.encode(), t.encode() + b"." + received.body, hashlib.sha256).hexdigest() for k in secret_keys
    }
    assert expected & set(v1)


def check_signed(received: Received, secret_key: str) -> None:
    assert verify_signature(received.body, received.headers, [secret_key])
    assert verify_legacy_signature(received.body, received.headers, secret_key)
    check_signatures_by_hand(received, [secret_key])
    assert received.headers["Coinvoice-Event-Id"] == received.payload["eventId"]
    assert received.headers["Content-Type"] == "application/json"


def invoice_path(invoice_id: str, action: str) -> str:
    return f"{CREATE}/{invoice_id}/{action}"


def by_type(received: list[Received]) -> list[Any]:
    return [(r.payload["invoiceId"], r.payload["type"]) for r in received]
