"""coinvoice.client against the gateway over real HTTP: invoices, the account, errors and webhook verification."""

from __future__ import annotations

import json

import pytest

from coinvoice.client import ApiError, CoinvoiceClient, Item, verify_webhook
from coinvoice.webhooks.signing import signature_headers
from tests.conftest import TPUB


async def test_a_merchant_sets_up_creates_and_a_payer_fills(api, company):
    async with CoinvoiceClient(api.base, company["publicToken"]) as client:
        await client.set_wallet("litecoin", xpub=TPUB)
        await client.allow_assets(ltc=True)
        first = await client.create_invoice("eur", [Item("Coffee", "10.99"), Item("Sugar", 1)], idempotency_key="o-1")
        again = await client.create_invoice(
            "EUR", [Item("Coffee", "10.990"), Item("Sugar", "1")], idempotency_key="o-1"
        )
        assert first["status"] == "created" and again["id"] == first["id"]
        filled = await client.proceed(first["id"], "payer@example.com", "ltc")
        assert filled["status"] == "pending" and filled["address"]["asset"] == "ltc"
        assert (await client.get_invoice(first["id"]))["status"] == "pending"
        page = await client.list_invoices(status=["pending"])
        assert [i["id"] for i in page["items"]] == [first["id"]]
        assert page["items"][0]["clientEmail"] == "payer@example.com"
        assert (await client.update_settings(name="Renamed"))["name"] == "Renamed"
        rotated = await client.rotate_secret_key(60)
        assert rotated["secretKey"].startswith("sk_") and rotated["activeKeys"] == 2


async def test_errors_carry_the_stable_code_and_field(api, company):
    async with CoinvoiceClient(api.base, company["publicToken"]) as client:
        with pytest.raises(ApiError) as caught:
            await client.create_invoice("eur", [Item("x", "1_000")])
        assert (caught.value.status, caught.value.code, caught.value.field) == (400, "invalid_price", "items[0].price")
    async with CoinvoiceClient(api.base, "pk_wrong") as client:
        with pytest.raises(ApiError) as caught:
            await client.settings()
        assert (caught.value.status, caught.value.code) == (401, "unauthorized")


def test_verify_webhook_accepts_the_gateway_signature_only():
    body = json.dumps({"eventId": "e", "type": "invoice.done"}).encode()
    headers = signature_headers(body, ["sk_a"], "e")
    assert verify_webhook(body, headers, ["sk_a"])
    assert not verify_webhook(body + b"x", headers, ["sk_a"])
    assert not verify_webhook(body, headers, "sk_b")
