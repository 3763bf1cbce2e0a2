"""Expiry of unpaid invoices: the bounded batch job, its events, deposits that hold it off, and its index."""

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.db import invoices as db_invoices
from coinvoice.services.invoices import expire_due_invoices
from coinvoice.workers.scheduler import expiry_job
from tests.api.invoice_setup import CREATE, accept_ltc, assert_error, create_invoice, fill, pending_invoice, sql


async def make_overdue(db_url: str, invoice_id: str, minutes: int = 1) -> None:
    await sql(
        db_url,
        "UPDATE invoices SET expires_at = now() - make_interval(mins => $2) WHERE id = $1",
        uuid.UUID(invoice_id),
        minutes,
    )


async def statuses(db_url: str) -> dict[str, int]:
    rows = await sql(db_url, "SELECT status, count(*) AS n FROM invoices GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def event_types(db_url: str, invoice_id: str) -> list[str]:
    rows = await sql(db_url, "SELECT type FROM events WHERE invoice_id = $1 ORDER BY seq", uuid.UUID(invoice_id))
    return [r["type"] for r in rows]


async def add_deposit(db_url: str, invoice_id: str, state: str = "seen") -> None:
    await sql(
        db_url,
        "INSERT INTO deposits (id, invoice_id, address_id, company_id, address, chain, txid, output_index, asset,"
        " amount_units, state) SELECT $2, a.invoice_id, a.id, a.company_id, a.address, a.chain, $3, 0, 'ltc', 1000, $4"
        " FROM addresses a WHERE a.invoice_id = $1",
        uuid.UUID(invoice_id),
        uuid.uuid4(),
        uuid.uuid4().hex,
        state,
    )


async def test_an_overdue_pending_invoice_expires_with_one_expired_event(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    await make_overdue(db_url, view["id"])
    assert await expire_due_invoices(pool, settings) == 1
    status, got = await api.call("GET", f"{CREATE}/{view['id']}")
    assert status == 200 and got["status"] == "expired"
    assert got["address"] == view["address"] and got["paymentDetails"] == view["paymentDetails"]
    assert await event_types(db_url, view["id"]) == ["invoice.created", "invoice.pending", "invoice.expired"]
    payload = json.loads((await sql(db_url, "SELECT payload FROM events WHERE type = 'invoice.expired'"))[0]["payload"])
    assert (payload["type"], payload["status"], payload["invoiceId"]) == ("invoice.expired", "expired", view["id"])
    assert payload["invoice"]["status"] == "expired"
    assert await expire_due_invoices(pool, settings) == 0  # nothing twice
    assert await event_types(db_url, view["id"]) == ["invoice.created", "invoice.pending", "invoice.expired"]


async def test_an_expired_invoice_cannot_be_filled(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    await make_overdue(db_url, view["id"])
    await expire_due_invoices(pool, settings)
    status, body = await fill(api, view["id"])
    assert_error(status, body, 409, "invoice_closed", "status")


async def test_an_invoice_not_yet_due_is_left_pending(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    await pending_invoice(api, company["publicToken"])
    assert await expire_due_invoices(pool, settings) == 0
    # the real clock: the same invoice expires once its 30 minutes have passed
    assert await expire_due_invoices(pool, settings, datetime.now(UTC) + timedelta(minutes=31)) == 1
    assert await statuses(db_url) == {"expired": 1}


async def test_a_created_invoice_never_expires(api, company, pool, settings, db_url):
    view = await create_invoice(api, company["publicToken"])
    await sql(
        db_url, "UPDATE invoices SET created_at = now() - interval '30 days' WHERE id = $1", uuid.UUID(view["id"])
    )
    assert await expire_due_invoices(pool, settings, datetime.now(UTC) + timedelta(days=365)) == 0
    assert await statuses(db_url) == {"created": 1}


async def test_an_invoice_with_a_deposit_is_not_expired(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    await add_deposit(db_url, view["id"])
    await make_overdue(db_url, view["id"])
    assert await expire_due_invoices(pool, settings) == 0
    assert await statuses(db_url) == {"pending": 1}
    assert await event_types(db_url, view["id"]) == ["invoice.created", "invoice.pending"]


async def test_an_orphaned_deposit_does_not_hold_off_expiry(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    await add_deposit(db_url, view["id"], state="orphaned")
    await make_overdue(db_url, view["id"])
    assert await expire_due_invoices(pool, settings) == 1


async def test_one_call_expires_at_most_one_batch_oldest_first(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    ids = [(await pending_invoice(api, company["publicToken"]))["id"] for _ in range(5)]
    for minutes, invoice_id in enumerate(ids, start=1):
        await make_overdue(db_url, invoice_id, minutes)  # the last one is the most overdue
    small = replace(settings, expiry_batch=3)
    assert await expire_due_invoices(pool, small) == 3
    rows = await sql(db_url, "SELECT id::text AS id FROM invoices WHERE status = 'expired'")
    assert {r["id"] for r in rows} == set(ids[2:])
    assert await expire_due_invoices(pool, small) == 2
    assert await expire_due_invoices(pool, small) == 0
    events = await sql(db_url, "SELECT count(*) AS n FROM events WHERE type = 'invoice.expired'")
    assert events[0]["n"] == 5


async def test_the_scheduled_job_drains_a_backlog_in_batches(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    for _ in range(5):
        await make_overdue(db_url, (await pending_invoice(api, company["publicToken"]))["id"])
    app = web.Application()
    app[POOL] = pool
    app[SETTINGS] = replace(settings, expiry_batch=2)
    await expiry_job(app).run()
    assert await statuses(db_url) == {"expired": 5}


class CapturingConnection:
    """Stands in for a connection: records the statement expire_due sends instead of running it."""

    def __init__(self) -> None:
        self.query: str | None = None
        self.args: tuple = ()

    async def fetch(self, query: str, *args):
        self.query, self.args = query, args
        return []


async def expire_query() -> tuple[str, tuple]:
    capture = CapturingConnection()
    await db_invoices.expire_due(capture, datetime.now(UTC), 500)  # type: ignore[arg-type]
    assert capture.query is not None
    return capture.query, capture.args


async def test_the_expiry_query_uses_the_partial_pending_index(api, company, pool):
    query, args = await expire_query()
    async with pool.acquire() as conn:
        # a realistic table: many finished invoices, a few pending ones
        await conn.execute(
            "INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, expires_at)"
            " SELECT gen_random_uuid(), $1, CASE WHEN g % 500 = 0 THEN 'pending' ELSE 'done' END, 'eur', '[]', 1,"
            "        now() - make_interval(mins => g % 90)"
            "   FROM generate_series(1, 50000) g",
            uuid.UUID(company["id"]),
        )
        await conn.execute("ANALYZE invoices")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query, *args))
    assert "invoices_pending_expiry" in plan, plan


async def test_the_expiry_query_can_use_the_index_on_a_small_table(pool):
    query, args = await expire_query()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query, *args))
    assert "invoices_pending_expiry" in plan, plan
