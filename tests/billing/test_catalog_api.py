"""Products, prices and customers through the HTTP API: CRUD, lists, archive, and company scoping."""

from __future__ import annotations

import pytest

from tests.api.invoice_setup import assert_error
from tests.billing.helpers import all_counts, second_company
from tests.conftest import Api


async def test_product_price_customer_lifecycle(api: Api, company):
    token = company["publicToken"]
    status, product = await api.call(
        "POST",
        "/api/products/v1",
        token=token,
        json_body={"name": "Coffee", "description": "beans", "metadata": {"sku": "C1"}},
    )
    assert status == 201, product
    assert (product["name"], product["description"], product["active"], product["metadata"]) == (
        "Coffee",
        "beans",
        True,
        {"sku": "C1"},
    )
    status, price = await api.call(
        "POST",
        "/api/prices/v1",
        token=token,
        json_body={"productId": product["id"], "invoiceCurrency": "EUR", "unitAmount": "10.005"},
    )
    assert status == 201, price
    assert (price["invoiceCurrency"], price["unitAmount"], price["productId"]) == ("eur", "10.01", product["id"])
    status, customer = await api.call(
        "POST", "/api/customers/v1", token=token, json_body={"email": "ann@example.com", "name": "Ann"}
    )
    assert status == 201, customer

    status, got = await api.call("GET", f"/api/products/v1/{product['id']}", token=token)
    assert (status, got) == (200, product)
    status, patched = await api.call(
        "PATCH", f"/api/products/v1/{product['id']}", token=token, json_body={"description": "roasted"}
    )
    assert status == 200 and patched["description"] == "roasted" and patched["name"] == "Coffee", patched
    status, patched = await api.call(
        "PATCH", f"/api/prices/v1/{price['id']}", token=token, json_body={"unitAmount": 12}
    )
    assert (status, patched["unitAmount"]) == (200, "12"), patched
    status, patched = await api.call(
        "PATCH", f"/api/customers/v1/{customer['id']}", token=token, json_body={"name": "Ann B."}
    )
    assert (status, patched["name"], patched["email"]) == (200, "Ann B.", "ann@example.com"), patched

    status, archived = await api.call("POST", f"/api/products/v1/{product['id']}/archive", token=token)
    assert (status, archived["active"]) == (200, False)
    status, body = await api.call(
        "POST",
        "/api/prices/v1",
        token=token,
        json_body={"productId": product["id"], "invoiceCurrency": "eur", "unitAmount": "1"},
    )
    assert_error(status, body, 409, "product_archived", "productId")
    status, page = await api.call("GET", "/api/products/v1?active=false", token=token)
    assert [p["id"] for p in page["items"]] == [product["id"]]
    status, page = await api.call("GET", "/api/products/v1?active=true", token=token)
    assert page["items"] == []


async def test_lists_page_with_a_cursor(api: Api, company):
    token = company["publicToken"]
    ids = []
    for n in range(5):
        status, c = await api.call("POST", "/api/customers/v1", token=token, json_body={"name": f"c{n}"})
        assert status == 201
        ids.append(c["id"])
    seen, cursor = [], None
    while True:
        path = "/api/customers/v1?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = await api.call("GET", path, token=token)
        assert status == 200, page
        seen += [c["id"] for c in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("/api/products/v1", {}, "required", "name"),
        ("/api/products/v1", {"name": "  "}, "invalid_name", "name"),
        ("/api/products/v1", {"name": "x", "metadata": {"k": 1}}, "invalid_type", "metadata.k"),
        ("/api/products/v1", {"name": "x", "metadata": {"k" * 41: "v"}}, "invalid_metadata", "metadata"),
        ("/api/products/v1", {"name": "x", "colour": "red"}, "extra_forbidden", "colour"),
        (
            "/api/prices/v1",
            {"productId": "nope", "invoiceCurrency": "eur", "unitAmount": "1"},
            "product_not_found",
            "productId",
        ),
        ("/api/customers/v1", {"email": "not-an-email"}, "invalid_email", "email"),
    ],
)
async def test_bad_input_is_a_400_or_404_and_writes_nothing(api: Api, company, db_url, path, body, code, field):
    token = company["publicToken"]
    before = await all_counts(db_url)
    status, resp = await api.call("POST", path, token=token, json_body=body)
    assert_error(status, resp, 404 if code.endswith("not_found") else 400, code, field)
    assert await all_counts(db_url) == before


async def test_price_with_a_negative_amount_is_refused(api: Api, company):
    token = company["publicToken"]
    _, product = await api.call("POST", "/api/products/v1", token=token, json_body={"name": "p"})
    status, body = await api.call(
        "POST",
        "/api/prices/v1",
        token=token,
        json_body={"productId": product["id"], "invoiceCurrency": "eur", "unitAmount": "-1"},
    )
    assert_error(status, body, 400, "out_of_range", "unitAmount")


async def test_another_companys_catalog_is_404(api: Api, company, settings, db_url):
    token = company["publicToken"]
    other = await second_company(settings, db_url)
    other_token = other["publicToken"]
    _, product = await api.call("POST", "/api/products/v1", token=token, json_body={"name": "p"})
    _, customer = await api.call("POST", "/api/customers/v1", token=token, json_body={"name": "c"})
    for method, path in [
        ("GET", f"/api/products/v1/{product['id']}"),
        ("PATCH", f"/api/products/v1/{product['id']}"),
        ("POST", f"/api/products/v1/{product['id']}/archive"),
        ("GET", f"/api/customers/v1/{customer['id']}"),
    ]:
        status, body = await api.call(method, path, token=other_token, json_body={} if method == "PATCH" else None)
        assert status == 404, (path, body)
    status, body = await api.call(
        "POST",
        "/api/prices/v1",
        token=other_token,
        json_body={"productId": product["id"], "invoiceCurrency": "eur", "unitAmount": "1"},
    )
    assert_error(status, body, 404, "product_not_found", "productId")
    status, page = await api.call("GET", "/api/products/v1", token=other_token)
    assert page["items"] == []
