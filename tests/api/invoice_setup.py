"""Helpers for the foundation API tests: wallets, allowed assets, invoices and row counts."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import TPUB, Api

CREATE = "/api/invoices/v1/regular"
#: The seed's request body (Solopayment regular invoice).
SEED_BODY: dict[str, Any] = {
    "invoiceCurrency": "eur",
    "items": [
        {"name": "Coffee", "price": 10.99},
        {"name": "Sugar", "price": 1},
        {"name": "Regular client discount", "price": -3},
        {"name": "Coffee gift (1+1 promo)", "price": 0},
    ],
    "isMerchantPaysFee": False,
    "paymentCurrency": "usdc",
    "redirectURL": "https://myshop.com/payment-success",
}
COUNTED = ("invoices", "events", "quotes", "addresses", "company_wallets", "company_assets", "companies", "api_tokens")


async def row_counts(db_url: str) -> dict[str, int]:
    """How many rows each foundation table holds: compare before and after a rejected request."""
    conn = await asyncpg.connect(db_url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED}
    finally:
        await conn.close()


async def sql(db_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def accept_ltc(api: Api, token: str) -> None:
    """Give the company a litecoin wallet (the test tpub) and allow ltc."""
    status, body = await api.call("PUT", "/api/company/wallets/litecoin", token=token, json_body={"xpub": TPUB})
    assert status == 200, body
    status, body = await api.call(
        "PATCH", "/api/company/assets", token=token, json_body={"assets": {"ltc": {"isAllowed": True}}}
    )
    assert status == 200, body


async def create_invoice(api: Api, token: str, **changes: Any) -> dict[str, Any]:
    body = {"invoiceCurrency": "eur", "items": [{"name": "Coffee", "price": "100"}], **changes}
    status, view = await api.call("POST", CREATE, token=token, json_body=body)
    assert status == 201, view
    return view


async def fill(api: Api, invoice_id: str, currency: str = "ltc", email: str = "payer@example.com") -> tuple[int, Any]:
    return await api.call(
        "POST", f"{CREATE}/{invoice_id}/proceed", json_body={"clientEmail": email, "paymentCurrency": currency}
    )


async def pending_invoice(api: Api, token: str, **changes: Any) -> dict[str, Any]:
    """A filled (pending) ltc invoice; the company must accept ltc."""
    view = await create_invoice(api, token, **changes)
    status, filled = await fill(api, view["id"])
    assert status == 200, filled
    return filled


def assert_error(status: int, body: Any, expected_status: int, code: str, field: str | None) -> None:
    assert status == expected_status, body
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert (body["error"]["code"], body["error"]["field"]) == (code, field), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
