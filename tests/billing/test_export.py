"""The invoice export through the API: CSV and JSON with the list's filters, amounts as decimal strings,
streamed with flat memory over 100,000 invoices, and only the company's own."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
import uuid

import aiohttp

from tests.api.invoice_setup import assert_error, create_invoice
from tests.billing.helpers import second_company
from tests.conftest import Api

EXPORT = "/api/invoices/v1/export"


async def test_csv_and_json_with_filters(api: Api, company, settings, db_url):
    token = company["publicToken"]
    first = await create_invoice(api, token, items=[{"name": "=cmd()", "price": "10.10"}])
    second = await create_invoice(api, token, items=[{"name": "Tea", "price": "0.5"}])
    other = await second_company(settings, db_url)
    await create_invoice(api, other["publicToken"])
    status, text = await api.call("GET", f"{EXPORT}?format=csv", token=token)
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == [second["id"], first["id"]]
    assert [r["total"] for r in rows] == ["0.5", "10.1"]
    assert rows[0]["status"] == "created" and rows[0]["kind"] == "regular" and rows[0]["amountDue"] == ""
    status, body = await api.call("GET", f"{EXPORT}?format=json&status=created", token=token)
    assert status == 200
    assert [(r["id"], r["total"]) for r in body] == [(second["id"], "0.5"), (first["id"], "10.1")]
    status, body = await api.call("GET", f"{EXPORT}?format=json&status=done", token=token)
    assert (status, body) == (200, [])


async def test_bad_parameters_are_400(api: Api, company):
    token = company["publicToken"]
    status, body = await api.call("GET", f"{EXPORT}?format=xml", token=token)
    assert_error(status, body, 400, "invalid_format", "format")
    status, body = await api.call("GET", f"{EXPORT}?status=paid", token=token)
    assert_error(status, body, 400, "invalid_status", "status")
    status, body = await api.call("GET", EXPORT)
    assert status == 401


async def test_a_csv_export_of_100k_invoices_streams_with_flat_memory(api: Api, company, pool):
    company_id = uuid.UUID(company["id"])
    await pool.execute(
        "INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, created_at)"
        ' SELECT gen_random_uuid(), $1, \'created\', \'eur\', \'[{"name": "Coffee", "price": "1.25"}]\','
        "  1.25 + n / 100.0, now() - n * interval '1 second' FROM generate_series(1, 100000) AS n",
        company_id,
    )
    lines = 0
    total_bytes = 0
    tracemalloc.start()
    try:
        headers = {"Authorization": f"Bearer {company['publicToken']}"}
        async with api.session.get(f"{api.base}{EXPORT}?format=csv", headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/csv")
            async for chunk in resp.content.iter_chunked(64 * 1024):
                total_bytes += len(chunk)
                lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 100_001  # the header and every invoice
    assert total_bytes > 10_000_000
    assert peak < total_bytes / 4, (peak, total_bytes)  # a whole-table load would hold it all (and more)


async def test_json_export_is_one_valid_array(api: Api, company, pool):
    await pool.execute(
        "INSERT INTO invoices (id, company_id, status, invoice_currency, items, total)"
        " SELECT gen_random_uuid(), $1, 'created', 'usd', '[]', 3 FROM generate_series(1, 1234)",
        uuid.UUID(company["id"]),
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{api.base}{EXPORT}?format=json", headers={"Authorization": f"Bearer {company['publicToken']}"}
        ) as resp:
            body = json.loads(await resp.read())
    assert len(body) == 1234 and {r["total"] for r in body} == {"3"}
