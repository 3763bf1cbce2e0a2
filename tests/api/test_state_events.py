"""Every state change writes exactly one event row, in the transaction of the change (created, pending, expired)."""

import uuid

import asyncpg
import pytest

from coinvoice.services.invoices import expire_due_invoices
from tests.api.invoice_setup import (
    CREATE,
    SEED_BODY,
    accept_ltc,
    create_invoice,
    fill,
    pending_invoice,
    row_counts,
    sql,
)


async def refuse_event(db_url: str, event_type: str) -> None:
    """Make the events table refuse one type, so that writing that event fails inside its transaction."""
    await sql(
        db_url,
        f"ALTER TABLE events ADD CONSTRAINT refuse_{event_type.replace('.', '_')} CHECK (type <> '{event_type}')",
    )


async def test_each_change_adds_exactly_one_event_with_the_new_status(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await create_invoice(api, company["publicToken"])
    query = "SELECT type, status FROM events WHERE invoice_id = $1 ORDER BY seq"
    invoice_id = uuid.UUID(view["id"])
    assert [tuple(r) for r in await sql(db_url, query, invoice_id)] == [("invoice.created", "created")]
    await fill(api, view["id"])
    await fill(api, view["id"])  # filling again changes nothing, so it tells nobody
    assert [tuple(r) for r in await sql(db_url, query, invoice_id)] == [
        ("invoice.created", "created"),
        ("invoice.pending", "pending"),
    ]
    await sql(db_url, "UPDATE invoices SET expires_at = now() - interval '1 minute' WHERE id = $1", invoice_id)
    await expire_due_invoices(pool, settings)
    assert [tuple(r) for r in await sql(db_url, query, invoice_id)] == [
        ("invoice.created", "created"),
        ("invoice.pending", "pending"),
        ("invoice.expired", "expired"),
    ]


async def test_an_invoice_is_not_created_when_its_event_cannot_be_written(api, company, db_url):
    await refuse_event(db_url, "invoice.created")
    before = await row_counts(db_url)
    status, _ = await api.call("POST", CREATE, token=company["publicToken"], json_body=SEED_BODY)
    assert status == 500
    assert await row_counts(db_url) == before


async def test_an_invoice_is_not_filled_when_its_event_cannot_be_written(api, company, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await create_invoice(api, company["publicToken"])
    await refuse_event(db_url, "invoice.pending")
    before = await row_counts(db_url)
    status, _ = await fill(api, view["id"])
    assert status == 500
    assert await row_counts(db_url) == before  # no quote, no address, no event
    row = (await sql(db_url, "SELECT status, filled_at FROM invoices WHERE id = $1", uuid.UUID(view["id"])))[0]
    assert (row["status"], row["filled_at"]) == ("created", None)
    wallet = await sql(db_url, "SELECT next_index FROM company_wallets")
    assert wallet[0]["next_index"] == 0  # the index taken in the failed transaction is given back


async def test_an_invoice_is_not_expired_when_its_event_cannot_be_written(api, company, pool, settings, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    await sql(
        db_url, "UPDATE invoices SET expires_at = now() - interval '1 minute' WHERE id = $1", uuid.UUID(view["id"])
    )
    await refuse_event(db_url, "invoice.expired")
    with pytest.raises(asyncpg.CheckViolationError):
        await expire_due_invoices(pool, settings)
    _, got = await api.call("GET", f"{CREATE}/{view['id']}")
    assert got["status"] == "pending"
