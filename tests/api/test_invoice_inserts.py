"""Group commit of new invoices (db/invoice_inserts.py): concurrent creates share statements and transactions,
each invoice commits with its own event, and a row the database refuses fails only its own create."""

import asyncio
import re
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from coinvoice.db import invoice_inserts
from coinvoice.db.invoice_inserts import InvoiceInserts
from tests.api.invoice_setup import CREATE, SEED_BODY, sql


def new_row(company_id, key=None):
    invoice_id, now = uuid.uuid4(), datetime.now(UTC)
    row = {
        "id": invoice_id,
        "company_id": company_id,
        "invoice_currency": "eur",
        "items": [{"name": "Coffee", "price": "1"}, {"name": "Tea", "price": "2.5"}],
        "total": "3.5",
        "merchant_pays_fee": False,
        "preset_currency": None,
        "redirect_url": None,
        "idempotency_key": key,
        "request_hash": b"h" if key else None,
        "created_at": now,
    }
    event = {"id": uuid.uuid4(), "type": "invoice.created", "payload": {"invoiceId": str(invoice_id)}}
    return row, event


async def test_concurrent_creates_share_transactions_and_each_invoice_commits_with_its_event(api, company, db_url):
    headers = {"Authorization": f"Bearer {company['publicToken']}"}

    async def create(i):
        hdrs = {**headers, "Idempotency-Key": f"k{i % 30}"}  # keys 0..9 are sent twice
        async with api.session.post(api.base + CREATE, json=SEED_BODY, headers=hdrs) as resp:
            return resp.status, (await resp.json())["id"], i % 30

    answers = await asyncio.gather(*(create(i) for i in range(40)))
    assert sorted(s for s, _, _ in answers) == [200] * 10 + [201] * 30
    by_key: dict[int, set[str]] = {}
    for _, invoice_id, key in answers:
        by_key.setdefault(key, set()).add(invoice_id)
    assert all(len(ids) == 1 for ids in by_key.values())  # a replay answers the first invoice

    rows = await sql(
        db_url,
        "SELECT i.id, i.xmin::text AS invoice_tx, e.xmin::text AS event_tx, e.type FROM invoices i"
        " JOIN events e ON e.invoice_id = i.id",
    )
    assert len(rows) == 30 and {r["type"] for r in rows} == {"invoice.created"}
    assert all(r["invoice_tx"] == r["event_tx"] for r in rows)  # each invoice commits with its event
    transactions = {r["invoice_tx"] for r in rows}
    assert len(transactions) <= 15, len(transactions)  # concurrent creates went in together (2 here; alone: 30)

    async with api.session.get(f"{api.base}/metrics") as resp:
        metrics = await resp.text()
    batches = float(re.search(r"^coinvoice_invoice_insert_batch_rows_count (\S+)$", metrics, re.M).group(1))
    rows = float(re.search(r"^coinvoice_invoice_insert_batch_rows_sum (\S+)$", metrics, re.M).group(1))
    assert rows == 40 and len(transactions) <= batches <= 15  # a batch of replays alone writes nothing


async def test_a_row_the_database_refuses_fails_only_its_own_create(api, company, pool, db_url, caplog):
    inserts = InvoiceInserts(pool)
    good = [new_row(uuid.UUID(company["id"])) for _ in range(5)]
    bad = new_row(uuid.uuid4())  # no such company: the foreign key refuses it
    outcomes = await asyncio.gather(
        *(inserts.insert(row, event) for row, event in [*good[:2], bad, *good[2:]]), return_exceptions=True
    )
    assert outcomes[:2] == [True, True] and outcomes[3:] == [True, True, True]
    assert isinstance(outcomes[2], asyncpg.ForeignKeyViolationError)
    written = {r["id"] for r in await sql(db_url, "SELECT invoice_id AS id FROM events")}
    assert written == {row["id"] for row, _ in good}
    assert "writing them one by one" in caplog.text  # the batch that held it failed as a whole first


async def test_the_same_idempotency_key_twice_in_one_batch_writes_one_invoice(api, company, pool, db_url):
    company_id = uuid.UUID(company["id"])
    rows = [new_row(company_id, key="same") for _ in range(2)]
    written = await invoice_inserts.insert_many(pool, rows)
    assert written == {rows[0][0]["id"]}
    assert [r["id"] for r in await sql(db_url, "SELECT invoice_id AS id FROM events")] == [rows[0][0]["id"]]


async def test_an_unreachable_database_fails_every_create_of_the_batch(api, company, db_url):
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    inserts = InvoiceInserts(pool)
    await pool.close()
    company_id = uuid.UUID(company["id"])
    outcomes = await asyncio.gather(*(inserts.insert(*new_row(company_id)) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(o, asyncpg.InterfaceError) for o in outcomes), outcomes
    await inserts.close()
    assert await sql(db_url, "SELECT id FROM invoices") == []


@pytest.mark.parametrize("items", [[{"name": "a", "price": "1"}], []])
async def test_a_json_array_is_written_as_one_value(api, company, pool, db_url, items):
    row, event = new_row(uuid.UUID(company["id"]))
    row["items"] = items
    assert await invoice_inserts.insert_many(pool, [(row, event)]) == {row["id"]}
    stored = await sql(db_url, "SELECT items, jsonb_typeof(items) AS t FROM invoices")
    assert [r["t"] for r in stored] == ["array"]
