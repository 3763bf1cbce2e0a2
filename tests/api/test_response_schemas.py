"""The documented response schemas are closed and precise, and real answers of every resource match them.

(The `api` fixture also checks every JSON success answer of every API test against the document.)
"""

from __future__ import annotations

import pytest

from coinvoice.web.api.openapi import OPERATIONS, openapi_document
from tests.api.invoice_setup import accept_ltc
from tests.support.openapi_check import check_answer, documented_path


def test_every_json_success_answer_has_a_precise_schema() -> None:
    doc = openapi_document()
    loose = []
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                schema = answer["content"]["application/json"]["schema"]
                if schema in ({"type": "object"}, {"type": "array"}):
                    loose.append(f"{method} {path} {status}")
    assert loose == []
    invoice = doc["components"]["schemas"]["InvoiceOut"]
    assert invoice["additionalProperties"] is False
    assert "clientEmail" not in doc["components"]["schemas"]["PayerInvoiceOut"]["properties"]
    settings = doc["components"]["schemas"]["SettingsOut"]
    assert settings["properties"]["logoUrl"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Logourl"}
    assert "logoUrl" in settings["required"]


def test_the_checker_refuses_an_extra_field_a_wrong_type_and_a_missing_field() -> None:
    good = {"webHookUrl": None}
    check_answer("GET", "/api/company/settings/webhook-url", 200, good)
    for bad in ({"webHookUrl": None, "secret": "x"}, {"webHookUrl": 5}, {}):
        with pytest.raises(AssertionError, match="does not match the document"):
            check_answer("GET", "/api/company/settings/webhook-url", 200, bad)


def test_paths_resolve_to_their_templates_literal_paths_first() -> None:
    assert documented_path("/api/invoices/v1/export") == "/api/invoices/v1/export"
    assert documented_path("/api/invoices/v1/billing/abc/finalize") == "/api/invoices/v1/billing/{invoice_id}/finalize"
    assert documented_path("/api/products/v1/x") == "/api/products/v1/{id}"
    assert documented_path("/nowhere") is None
    assert len({(op.method, op.path) for op in OPERATIONS}) == len(OPERATIONS)


async def test_a_filled_invoice_the_lists_and_the_account_match_the_document(api, company, settings) -> None:
    """One flow over the resources whose answers grow as an invoice lives; each call is checked by the fixture."""
    token = company["publicToken"]
    await accept_ltc(api, token)
    status, created = await api.call(
        "POST",
        "/api/invoices/v1/regular",
        token=token,
        json_body={"invoiceCurrency": "eur", "items": [{"name": "Coffee", "price": "10.99"}]},
    )
    assert status == 201
    status, filled = await api.call(
        "POST",
        f"/api/invoices/v1/regular/{created['id']}/proceed",
        json_body={"clientEmail": "payer@example.com", "paymentCurrency": "ltc"},
    )
    assert status == 200 and filled["paymentDetails"]["rateSources"] and "clientEmail" not in filled
    with pytest.raises(AssertionError, match="clientEmail"):  # the payer's view may never show it
        check_answer("GET", f"/api/invoices/v1/regular/{created['id']}", 200, {**filled, "clientEmail": "p@x.example"})
    status, page = await api.call("GET", "/api/invoices/v1", token=token)
    assert status == 200 and page["items"][0]["clientEmail"] == "payer@example.com"
    for path in (
        "/api/company/wallets",
        "/api/company/assets",
        "/api/company/settings",
        "/api/company/settings/webhook-url",
        "/api/company/underpayment-limits",
        "/api/company/deposits",
        "/api/webhooks/deliveries",
        "/api/invoices/v1/export?format=json",
    ):
        status, _ = await api.call("GET", path, token=token)
        assert status == 200, path
    status, rate = await api.call("GET", "/api/rates?from=eur&to=ltc")
    assert status == 200 and rate["sources"]
    status, rotated = await api.call("POST", "/api/company/secret-key/rotate", token=token)
    assert status == 201 and rotated["activeKeys"] == 2
