"""Billing invoices through the HTTP API: drafts, updates, finalize with gap-free references, void,
uncollectible, delete, the events of each transition, and company scoping."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.invoice_setup import assert_error, sql
from tests.billing.helpers import BILLING, all_counts, catalog, make, second_company
from tests.conftest import Api


async def _events(db_url: str, invoice_id: str) -> list[tuple[str, str, str]]:
    rows = await sql(db_url, "SELECT type, status, payload FROM events WHERE invoice_id = $1 ORDER BY seq", invoice_id)
    out = []
    for r in rows:
        payload = json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
        out.append((r["type"], r["status"], payload["eventType"]))
    return out


async def _draft(api: Api, token: str, objs: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "customerId": objs["customer"]["id"],
        "lineItems": [
            {"priceId": objs["price"]["id"], "quantity": 2},
            {"name": "Tip", "price": "1.005", "quantity": 1},
        ],
        "daysUntilDue": 14,
        "metadata": {"order": "42"},
        "notes": "Thanks <3",
        **changes,
    }
    return await make(api, token, BILLING, body)


async def test_draft_update_finalize_then_edits_are_refused(api: Api, company, db_url):
    token = company["publicToken"]
    objs = await catalog(api, token)
    draft = await _draft(api, token, objs)
    assert (draft["status"], draft["kind"], draft["reference"], draft["hostedUrl"]) == ("draft", "billing", None, None)
    assert draft["invoiceContent"]["invoiceCurrency"] == "eur"
    assert draft["invoiceContent"]["total"] == "22.01"
    assert draft["lineItems"] == [
        {"priceId": objs["price"]["id"], "name": "Coffee <beans>", "unitAmount": "10.5", "quantity": 2, "amount": "21"},
        {"priceId": None, "name": "Tip", "unitAmount": "1.01", "quantity": 1, "amount": "1.01"},
    ]
    # a draft is the merchant's: the payer's read and the page do not know it
    status, _ = await api.call("GET", f"/api/invoices/v1/regular/{draft['id']}")
    assert status == 404
    status, _ = await api.call("GET", f"/{draft['id']}")
    assert status == 404

    status, updated = await api.call(
        "PATCH",
        f"{BILLING}/{draft['id']}",
        token=token,
        json_body={"notes": "See you", "lineItems": [{"name": "X", "price": "5"}]},
    )
    assert status == 200, updated
    assert (updated["notes"], updated["invoiceContent"]["total"], updated["metadata"]) == (
        "See you",
        "5",
        {"order": "42"},
    )
    assert updated["daysUntilDue"] == 14

    # a price an invoice used keeps its amount
    status, body = await api.call(
        "PATCH", f"/api/prices/v1/{objs['price']['id']}", token=token, json_body={"unitAmount": "1"}
    )
    assert_error(status, body, 409, "price_in_use", "unitAmount")

    status, final = await api.call("POST", f"{BILLING}/{draft['id']}/finalize", token=token)
    assert status == 200, final
    assert (final["status"], final["reference"]) == ("created", "INV-000001")
    assert final["customer"] == {"id": objs["customer"]["id"], "email": "ann@example.com", "name": "Ann & Bob"}
    due = datetime.fromisoformat(final["dueDate"].replace("Z", "+00:00"))
    assert abs(due - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=1)
    assert final["hostedUrl"].endswith(f"/{draft['id']}")

    # customer changes after finalization do not touch the frozen copy
    await api.call(
        "PATCH", f"/api/customers/v1/{objs['customer']['id']}", token=token, json_body={"email": "x@example.com"}
    )
    status, got = await api.call("GET", f"{BILLING}/{draft['id']}", token=token)
    assert got["customer"]["email"] == "ann@example.com"

    for method, path, body in [
        ("PATCH", f"{BILLING}/{draft['id']}", {"notes": "late"}),
        ("DELETE", f"{BILLING}/{draft['id']}", None),
        ("POST", f"{BILLING}/{draft['id']}/finalize", None),
    ]:
        status, resp = await api.call(method, path, token=token, json_body=body)
        assert_error(status, resp, 409, "invoice_not_draft", "status")
    # the payer can now read it
    status, public = await api.call("GET", f"/api/invoices/v1/regular/{draft['id']}")
    assert (status, public["status"]) == (200, "created")
    assert "metadata" not in public and public["reference"] == "INV-000001"  # the merchant's metadata stays private
    assert await _events(db_url, draft["id"]) == [
        ("invoice.draft", "draft", "INVOICE_CREATED"),
        ("invoice.updated", "draft", "INVOICE_UPDATED"),
        ("invoice.finalized", "created", "INVOICE_FINALIZED"),
    ]


async def test_finalize_without_customer_email_is_409_with_an_event(api: Api, company, db_url):
    token = company["publicToken"]
    objs = await catalog(api, token, email=None)
    draft = await _draft(api, token, objs)
    status, body = await api.call("POST", f"{BILLING}/{draft['id']}/finalize", token=token)
    assert_error(status, body, 409, "finalization_failed", "customer.email")
    status, got = await api.call("GET", f"{BILLING}/{draft['id']}", token=token)
    assert (got["status"], got["reference"]) == ("draft", None)
    assert (await _events(db_url, draft["id"]))[-1] == (
        "invoice.finalization_failed",
        "draft",
        "INVOICE_FINALIZATION_FAILED",
    )
    # fixing the customer lets it through, and the failed attempt used no number
    await api.call(
        "PATCH", f"/api/customers/v1/{objs['customer']['id']}", token=token, json_body={"email": "a@example.com"}
    )
    status, final = await api.call("POST", f"{BILLING}/{draft['id']}/finalize", token=token)
    assert (status, final["reference"]) == (200, "INV-000001")


async def test_twenty_concurrent_finalizations_get_consecutive_references(api: Api, company, settings, db_url):
    token = company["publicToken"]
    objs = await catalog(api, token)
    drafts = [await _draft(api, token, objs) for _ in range(20)]
    results = await asyncio.gather(*(api.call("POST", f"{BILLING}/{d['id']}/finalize", token=token) for d in drafts))
    assert all(status == 200 for status, _ in results), results
    refs = sorted(body["reference"] for _, body in results)
    assert refs == [f"INV-{n:06d}" for n in range(1, 21)]
    # another company counts on its own
    other = await second_company(settings, db_url)
    other_objs = await catalog(api, other["publicToken"])
    d = await _draft(api, other["publicToken"], other_objs)
    status, final = await api.call("POST", f"{BILLING}/{d['id']}/finalize", token=other["publicToken"])
    assert (status, final["reference"]) == (200, "INV-000001")


async def test_delete_a_draft(api: Api, company, db_url):
    token = company["publicToken"]
    objs = await catalog(api, token)
    draft = await _draft(api, token, objs)
    status, body = await api.call("DELETE", f"{BILLING}/{draft['id']}", token=token)
    assert (status, body) == (200, {"id": draft["id"], "deleted": True})
    for method, path in [("GET", f"{BILLING}/{draft['id']}"), ("DELETE", f"{BILLING}/{draft['id']}")]:
        status, resp = await api.call(method, path, token=token)
        assert_error(status, resp, 404, "invoice_not_found", "id")
    status, page = await api.call("GET", "/api/invoices/v1", token=token)
    assert page["items"] == []
    assert (await _events(db_url, draft["id"]))[-1] == ("invoice.deleted", "draft", "INVOICE_DELETED")


@pytest.mark.parametrize(
    ("action", "status_after", "event"),
    [
        ("void", "voided", ("invoice.voided", "voided", "INVOICE_VOIDED")),
        (
            "mark-uncollectible",
            "uncollectible",
            ("invoice.uncollectible", "uncollectible", "INVOICE_MARKED_UNCOLLECTIBLE"),
        ),
    ],
)
async def test_void_and_mark_uncollectible(api: Api, company, db_url, action, status_after, event):
    token = company["publicToken"]
    objs = await catalog(api, token)
    draft = await _draft(api, token, objs)
    status, body = await api.call("POST", f"{BILLING}/{draft['id']}/{action}", token=token)
    assert_error(status, body, 409, "invalid_state", "status")  # a draft is deleted, not voided
    await api.call("POST", f"{BILLING}/{draft['id']}/finalize", token=token)
    status, closed = await api.call("POST", f"{BILLING}/{draft['id']}/{action}", token=token)
    assert (status, closed["status"]) == (200, status_after), closed
    assert closed["closedAt"] is not None
    assert (await _events(db_url, draft["id"]))[-1] == event
    status, body = await api.call("POST", f"{BILLING}/{draft['id']}/{action}", token=token)
    assert_error(status, body, 409, "invalid_state", "status")
    # a closed invoice cannot be paid
    status, body = await api.call(
        "POST",
        f"/api/invoices/v1/regular/{draft['id']}/proceed",
        json_body={"clientEmail": "p@example.com", "paymentCurrency": "ltc"},
    )
    assert_error(status, body, 409, "invoice_closed", "status")


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"customerId": "nope"}, 404, "customer_not_found", "customerId"),
        ({"lineItems": []}, 400, "empty", "lineItems"),
        ({"lineItems": [{"priceId": "nope"}]}, 404, "price_not_found", "lineItems[0].priceId"),
        ({"lineItems": [{"name": "x"}]}, 400, "required", "lineItems[0].price"),
        (
            {"lineItems": [{"name": "x", "price": "1", "quantity": 0}], "invoiceCurrency": "eur"},
            400,
            "out_of_range",
            "lineItems[0].quantity",
        ),
        (
            {"lineItems": [{"name": "x", "price": "-1"}], "invoiceCurrency": "eur"},
            400,
            "total_not_positive",
            "lineItems",
        ),
        ({"lineItems": [{"name": "x", "price": "1"}], "invoiceCurrency": None}, 400, "required", "invoiceCurrency"),
        ({"invoiceCurrency": "usd"}, 400, "currency_mismatch", "lineItems[0].priceId"),
        ({"dueDate": "2030-01-01T00:00:00Z"}, 400, "conflicting_fields", "dueDate"),
        ({"dueDate": "tomorrow"}, 400, "invalid_time", "dueDate"),
        ({"daysUntilDue": -1}, 400, "greater_than_equal", "daysUntilDue"),
        ({"metadata": {"k": "v" * 501}}, 400, "invalid_metadata", "metadata"),
        ({"notes": 5}, 400, "invalid_type", "notes"),
    ],
)
async def test_bad_drafts_are_refused_and_write_nothing(api: Api, company, db_url, change, status, code, field):
    token = company["publicToken"]
    objs = await catalog(api, token)
    body = {
        "customerId": objs["customer"]["id"],
        "lineItems": [{"priceId": objs["price"]["id"], "quantity": 1}],
        "daysUntilDue": 3,
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}
    before = await all_counts(db_url)
    got_status, resp = await api.call("POST", BILLING, token=token, json_body=body)
    assert_error(got_status, resp, status, code, field)
    assert await all_counts(db_url) == before


async def test_another_companys_billing_invoice_is_404_everywhere(api: Api, company, settings, db_url):
    token = company["publicToken"]
    objs = await catalog(api, token)
    draft = await _draft(api, token, objs)
    other = (await second_company(settings, db_url))["publicToken"]
    for method, path in [
        ("GET", f"{BILLING}/{draft['id']}"),
        ("PATCH", f"{BILLING}/{draft['id']}"),
        ("DELETE", f"{BILLING}/{draft['id']}"),
        ("POST", f"{BILLING}/{draft['id']}/finalize"),
        ("POST", f"{BILLING}/{draft['id']}/void"),
        ("POST", f"{BILLING}/{draft['id']}/mark-uncollectible"),
    ]:
        status, body = await api.call(method, path, token=other, json_body={} if method == "PATCH" else None)
        assert_error(status, body, 404, "invoice_not_found", "id")
    # nor can another company bill this company's customer or price
    other_objs = await catalog(api, other)
    status, body = await api.call(
        "POST",
        BILLING,
        token=other,
        json_body={"customerId": objs["customer"]["id"], "lineItems": [{"priceId": other_objs["price"]["id"]}]},
    )
    assert_error(status, body, 404, "customer_not_found", "customerId")
    status, body = await api.call(
        "POST",
        BILLING,
        token=other,
        json_body={"customerId": other_objs["customer"]["id"], "lineItems": [{"priceId": objs["price"]["id"]}]},
    )
    assert_error(status, body, 404, "price_not_found", "lineItems[0].priceId")


async def test_whole_numbers_written_with_a_fraction_part_count_as_integers(api: Api, company):
    """JSON Schema's integer includes 2.0, and the document says integer: the API takes what it documents."""
    token = company["publicToken"]
    objs = await catalog(api, token)
    customer, price = objs["customer"]["id"], objs["price"]["id"]
    text = (
        f'{{"customerId": "{customer}", "lineItems": [{{"priceId": "{price}", "quantity": 2.0}}], "daysUntilDue": 3.0}}'
    )
    raw = text.encode()
    status, draft = await api.call("POST", BILLING, token=token, raw=raw)
    assert status == 201, draft
    assert draft["lineItems"][0]["quantity"] == 2 and draft["daysUntilDue"] == 3
    status, error = await api.call("POST", BILLING, token=token, raw=raw.replace(b"2.0", b"2.5"))
    assert status == 400 and error["error"]["field"] == "lineItems[0].quantity"
