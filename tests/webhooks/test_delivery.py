"""Webhooks end to end: real PostgreSQL, the real sender in a worker app, a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from coinvoice.db import webhooks as db_webhooks
from coinvoice.services.invoices import expire_due_invoices
from tests.api.invoice_setup import create_invoice, pending_invoice, sql
from tests.webhooks.helpers import (
    add_late_deposit,
    check_signed,
    delivered_by_invoice,
    events_by_invoice,
    invoice_path,
    later,
    make_wrong,
)


async def _all_delivered(db_url: str, receiver, within: float = 15.0) -> dict[str, list[str]]:
    """Wait until the receiver has accepted every event in the database; returns events per invoice."""
    expected = await events_by_invoice(db_url)
    total = sum(len(v) for v in expected.values())
    await receiver.wait_for(lambda r: len({x.payload["eventId"] for x in r.delivered}) >= total, within)
    for _ in range(200):  # the sender records the outcome just after the receiver answers
        if not await sql(db_url, "SELECT 1 FROM webhook_deliveries WHERE state <> 'delivered'"):
            break
        await asyncio.sleep(0.02)
    return expected


async def test_every_transition_writes_one_event_one_delivery_and_arrives_signed_in_order(
    api, hooked, receiver, pool, settings, db_url, start_worker
):
    token = hooked["publicToken"]
    late = await pending_invoice(api, token)  # created, pending
    await expire_due_invoices(pool, settings, now=later())  # expired
    await add_late_deposit(db_url, late["id"])
    assert (await api.call("POST", invoice_path(late["id"], "accept"), token=token))[1]["status"] == "done"
    rejected = await pending_invoice(api, token)
    await make_wrong(db_url, rejected["id"])
    assert (await api.call("POST", invoice_path(rejected["id"], "reject"), token=token))[1]["status"] == "refunded"
    accepted = await pending_invoice(api, token)
    await make_wrong(db_url, accepted["id"])
    assert (await api.call("POST", invoice_path(accepted["id"], "accept"), token=token))[1]["status"] == "done"
    unfilled = await create_invoice(api, token)

    types = {
        str(r["invoice_id"]): [t for t in r["types"]]
        for r in await sql(db_url, "SELECT invoice_id, array_agg(type ORDER BY seq) AS types FROM events GROUP BY 1")
    }
    assert types == {
        late["id"]: ["invoice.created", "invoice.pending", "invoice.expired", "invoice.done"],
        rejected["id"]: ["invoice.created", "invoice.pending", "invoice.refunded"],
        accepted["id"]: ["invoice.created", "invoice.pending", "invoice.done"],
        unfilled["id"]: ["invoice.created"],
    }
    one_each = await sql(
        db_url,
        "SELECT count(*) AS n, count(DISTINCT d.event_id) AS d FROM events e JOIN webhook_deliveries d ON d.event_id = e.id",
    )
    assert (one_each[0]["n"], one_each[0]["d"]) == (11, 11)

    await start_worker()
    expected = await _all_delivered(db_url, receiver)
    assert delivered_by_invoice(receiver) == expected
    assert Counter(r.payload["eventId"] for r in receiver.received) == Counter(
        e for ids in expected.values() for e in ids
    )
    for received in receiver.received:
        check_signed(received, hooked["secretKey"])
    done = receiver.delivered[-1].payload
    assert set(done) >= {"eventId", "type", "invoiceId", "status", "message", "createdAt", "invoice"}
    assert done["invoice"]["id"] == done["invoiceId"] and done["invoice"]["status"] == done["status"]
    states = await sql(db_url, "SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state")
    assert [(r["state"], r["n"]) for r in states] == [("delivered", 11)]


async def test_a_receiver_that_fails_then_goes_down_then_recovers_gets_every_event_in_order(
    api, hooked, receiver, db_url, start_worker
):
    token = hooked["publicToken"]
    receiver.status = 500
    await start_worker()
    for _ in range(3):
        await pending_invoice(api, token)
    await receiver.wait_for(lambda r: len(r.received) >= 6)  # several failed attempts, with retries
    await receiver.stop()  # connection refused for a while
    await asyncio.sleep(1.0)
    receiver.status = 200
    await receiver.start()

    expected = await _all_delivered(db_url, receiver, within=20)
    assert delivered_by_invoice(receiver) == expected
    assert all(r.payload["type"] == "invoice.created" for r in receiver.received if r.status == 500)
    attempts = await sql(
        db_url,
        "SELECT count(*) FILTER (WHERE status_code = 500) AS http500,"
        " count(*) FILTER (WHERE status_code IS NULL AND error IS NOT NULL) AS refused,"
        " count(*) FILTER (WHERE status_code = 200) AS ok, min(duration_ms) AS min_ms FROM webhook_attempts",
    )
    assert attempts[0]["http500"] >= 6 and attempts[0]["ok"] == 6 and attempts[0]["min_ms"] >= 0
    refused = await sql(db_url, "SELECT error FROM webhook_attempts WHERE status_code IS NULL")
    assert all("Connect" in r["error"] or "refused" in r["error"].lower() for r in refused), refused


async def test_a_sender_stopped_during_retries_loses_nothing_and_a_later_one_finishes(
    api, hooked, receiver, db_url, start_worker
):
    token = hooked["publicToken"]
    receiver.status = 503
    first = await start_worker()
    for _ in range(2):
        await pending_invoice(api, token)
    await receiver.wait_for(lambda r: len(r.received) >= 4)
    await first.cleanup()  # the gateway goes away mid-retry
    pending = await sql(db_url, "SELECT count(*) AS n FROM webhook_deliveries WHERE state = 'pending'")
    assert pending[0]["n"] == 4
    receiver.status = 200
    await start_worker()  # a new process, later
    expected = await _all_delivered(db_url, receiver)
    assert delivered_by_invoice(receiver) == expected


async def test_deliveries_held_by_a_crashed_sender_come_back_when_its_lease_ends(
    api, hooked, receiver, pool, db_url, start_worker
):
    token = hooked["publicToken"]
    await pending_invoice(api, token)
    crashed = await db_webhooks.claim_due(pool, 100, 1.5, uuid.uuid4())  # claims, then never reports
    assert len(crashed) == 1  # only the first event of the invoice: the second waits behind it
    await start_worker()
    await asyncio.sleep(0.8)
    assert receiver.received == []  # still leased
    expected = await _all_delivered(db_url, receiver)
    assert delivered_by_invoice(receiver) == expected


async def test_two_senders_at_once_deliver_each_event_exactly_once_in_order(
    api, hooked, receiver, db_url, start_worker
):
    token = hooked["publicToken"]
    receiver.delay = 0.01
    await asyncio.gather(start_worker(), start_worker())
    await asyncio.gather(*(pending_invoice(api, token) for _ in range(20)))
    expected = await _all_delivered(db_url, receiver)
    await asyncio.sleep(0.5)  # room for a duplicate to show up
    counts = Counter(r.payload["eventId"] for r in receiver.received)
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert delivered_by_invoice(receiver) == expected


async def test_a_private_webhook_url_is_refused_again_at_send_time(
    api, hooked, receiver, db_url, start_worker, fast_settings
):
    from dataclasses import replace

    await start_worker(replace(fast_settings, webhook_allow_private=False))
    await create_invoice(api, hooked["publicToken"])
    for _ in range(100):
        rows = await sql(db_url, "SELECT error FROM webhook_attempts")
        if rows:
            break
        await asyncio.sleep(0.05)
    assert rows and "loopback" in rows[0]["error"], rows
    assert receiver.received == []
