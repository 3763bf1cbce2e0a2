"""Helpers for the billing tests: a second company, row counts of the billing tables, catalog objects."""

from __future__ import annotations

from typing import Any

import asyncpg

from coinvoice.db.pool import create_pool
from coinvoice.services.companies import create_company
from tests.api.invoice_setup import row_counts
from tests.conftest import Api

BILLING_TABLES = ("products", "prices", "customers", "billing_sequences")
BILLING = "/api/invoices/v1/billing"


async def all_counts(db_url: str) -> dict[str, int]:
    counts = await row_counts(db_url)
    conn = await asyncpg.connect(db_url)
    try:
        for table in BILLING_TABLES:
            counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()
    return counts


async def second_company(settings: Any, db_url: str) -> dict[str, str]:
    pool = await create_pool(db_url, min_size=1, max_size=1)
    try:
        return await create_company(pool, settings, "Other", None, None)
    finally:
        await pool.close()


async def make(api: Api, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, view = await api.call("POST", path, token=token, json_body=body)
    assert status == 201, view
    return view


async def catalog(api: Api, token: str, email: str | None = "ann@example.com") -> dict[str, Any]:
    """A product with a 10.50 eur price, and a customer (with ``email``)."""
    product = await make(api, token, "/api/products/v1", {"name": "Coffee <beans>"})
    price = await make(
        api, token, "/api/prices/v1", {"productId": product["id"], "invoiceCurrency": "eur", "unitAmount": "10.50"}
    )
    customer = await make(api, token, "/api/customers/v1", {"email": email, "name": "Ann & Bob"})
    return {"product": product, "price": price, "customer": customer}
