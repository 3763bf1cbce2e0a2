"""POST /api/invoices/v1/regular and GET …/{id} over real HTTP: wire shape, rounding, idempotency, bad input."""

import asyncio
import json
import re
import time

import pytest

from tests.api.invoice_setup import CREATE, SEED_BODY, assert_error, create_invoice, row_counts, sql

WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SEED_ASSETS = ["btc", "eth", "usdt", "sol", "ton", "usdc", "bnb", "ltc", "near", "trx", "bch"]


async def test_create_answers_the_seed_shape_and_get_returns_the_same_object(api, company):
    status, view = await api.call("POST", CREATE, token=company["publicToken"], json_body=SEED_BODY)
    assert status == 201, view
    assert set(view) == {"id", "status", "createdAt", "company", "invoiceContent", "redirectURL"}
    assert view["status"] == "created"
    assert WIRE_TIME.match(view["createdAt"])
    assert view["company"] == {
        "name": "Coffee & Co <b>",
        "logoUrl": "https://shop.example/logo.png",
        "assets": [{"asset": a, "isAllowed": False} for a in SEED_ASSETS],
    }
    content = view["invoiceContent"]
    assert {"invoiceCurrency", "items", "paymentCurrency", "isMerchantPaysFee", "redirectURL"} <= set(content)
    assert content["invoiceCurrency"] == "eur"
    assert content["items"] == [
        {"name": "Coffee", "price": "10.99"},
        {"name": "Sugar", "price": "1"},
        {"name": "Regular client discount", "price": "-3"},
        {"name": "Coffee gift (1+1 promo)", "price": "0"},
    ]
    assert content["total"] == "8.99"
    assert content["paymentCurrency"] == "usdc"
    assert content["isMerchantPaysFee"] is False
    assert view["redirectURL"] == content["redirectURL"] == "https://myshop.com/payment-success"

    status, got = await api.call("GET", f"{CREATE}/{view['id']}")
    assert status == 200
    assert got == view


async def test_create_writes_one_invoice_and_one_created_event(api, company, db_url):
    view = await create_invoice(api, company["publicToken"])
    rows = await sql(db_url, "SELECT type, status, payload FROM events WHERE invoice_id = $1", view["id"])
    assert [(r["type"], r["status"]) for r in rows] == [("invoice.created", "created")]
    assert json.loads(rows[0]["payload"])["invoice"]["id"] == view["id"]
    assert (await row_counts(db_url))["invoices"] == 1


@pytest.mark.parametrize(
    ("currency", "price", "expected"),
    [
        ("usd", "1.005", "1.01"),
        ("eur", "1.004", "1"),
        ("usdt", "2.675", "2.68"),
        ("usdc", "0.125", "0.13"),
        ("sol", "1.00005", "1.0001"),
        ("ton", "1.23444", "1.2344"),
        ("btc", "0.0000005", "0.000001"),
        ("eth", "1.2345675", "1.234568"),
        ("bnb", "0.000000015", "0.00000002"),
        ("bch", "1.123456785", "1.12345679"),
        ("ltc", "1.123456784", "1.12345678"),
        ("trx", "12.5", "12.5"),
    ],
)
async def test_prices_are_rounded_half_up_per_currency_and_returned_as_strings(api, company, currency, price, expected):
    # the number goes on the wire as written: no float ever touches it
    raw = f'{{"invoiceCurrency": "{currency}", "items": [{{"name": "x", "price": {price}}}]}}'.encode()
    status, view = await api.call("POST", CREATE, token=company["publicToken"], raw=raw)
    assert status == 201, view
    assert view["invoiceContent"]["items"] == [{"name": "x", "price": expected}]
    assert view["invoiceContent"]["total"] == expected


async def test_rounding_applies_to_each_item_before_the_total(api, company):
    raw = b'{"invoiceCurrency": "usd", "items": [{"name": "a", "price": 0.005}, {"name": "b", "price": 0.005}]}'
    status, view = await api.call("POST", CREATE, token=company["publicToken"], raw=raw)
    assert status == 201, view
    assert view["invoiceContent"]["total"] == "0.02"


async def test_prices_given_as_decimal_strings_are_accepted(api, company):
    view = await create_invoice(api, company["publicToken"], items=[{"name": "a", "price": "19.999"}])
    assert view["invoiceContent"]["items"][0]["price"] == "20"


async def test_zero_and_negative_items_are_allowed_when_the_total_is_positive(api, company):
    items = [{"name": "a", "price": 5}, {"name": "discount", "price": -4.99}, {"name": "gift", "price": 0}]
    view = await create_invoice(api, company["publicToken"], invoiceCurrency="usd", items=items)
    assert [i["price"] for i in view["invoiceContent"]["items"]] == ["5", "-4.99", "0"]
    assert view["invoiceContent"]["total"] == "0.01"


@pytest.mark.parametrize("body_redirect", [{}, {"redirectURL": None}])
async def test_redirect_url_falls_back_to_the_company_default(api, company, body_redirect):
    view = await create_invoice(api, company["publicToken"], **body_redirect)
    assert view["redirectURL"] == "https://shop.example/done"
    assert view["invoiceContent"]["redirectURL"] == "https://shop.example/done"


async def test_without_a_company_default_redirect_url_is_null(api, settings, pool):
    from coinvoice.services.companies import create_company

    other = await create_company(pool, settings, "No redirect", None, None)
    view = await create_invoice(api, other["publicToken"])
    assert view["redirectURL"] is None
    assert view["company"]["logoUrl"] is None


async def test_payment_currency_is_optional_and_null_when_absent(api, company):
    view = await create_invoice(api, company["publicToken"])
    assert view["invoiceContent"]["paymentCurrency"] is None
    assert view["invoiceContent"]["isMerchantPaysFee"] is False


async def test_currency_codes_are_case_insensitive(api, company):
    view = await create_invoice(api, company["publicToken"], invoiceCurrency="EUR", paymentCurrency="LTC")
    assert (view["invoiceContent"]["invoiceCurrency"], view["invoiceContent"]["paymentCurrency"]) == ("eur", "ltc")


async def post_with_key(api, token, body, key):
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    async with api.session.post(api.base + CREATE, json=body, headers=headers) as resp:
        return resp.status, resp.headers, await resp.json()


async def test_idempotency_key_replays_the_first_invoice_for_the_same_body(api, company, db_url):
    token = company["publicToken"]
    s1, h1, first = await post_with_key(api, token, SEED_BODY, "order-42")
    assert s1 == 201 and "Idempotent-Replayed" not in h1
    before = await row_counts(db_url)
    s2, h2, again = await post_with_key(api, token, SEED_BODY, "order-42")
    assert s2 == 200
    assert h2["Idempotent-Replayed"] == "true"
    assert again == first
    assert await row_counts(db_url) == before


async def test_idempotency_key_with_a_different_body_is_a_conflict_and_writes_nothing(api, company, db_url):
    token = company["publicToken"]
    await post_with_key(api, token, SEED_BODY, "order-43")
    before = await row_counts(db_url)
    changed = {**SEED_BODY, "isMerchantPaysFee": True}
    status, _, body = await post_with_key(api, token, changed, "order-43")
    assert_error(status, body, 409, "idempotency_key_reused", "Idempotency-Key")
    assert await row_counts(db_url) == before


async def test_idempotency_keys_are_per_company(api, company, settings, pool):
    from coinvoice.services.companies import create_company

    other = await create_company(pool, settings, "Other", None, None)
    _, _, mine = await post_with_key(api, company["publicToken"], SEED_BODY, "same-key")
    status, _, theirs = await post_with_key(api, other["publicToken"], SEED_BODY, "same-key")
    assert status == 201
    assert theirs["id"] != mine["id"]
    assert theirs["company"]["name"] == "Other"


async def test_a_different_key_with_the_same_body_makes_a_new_invoice(api, company):
    _, _, a = await post_with_key(api, company["publicToken"], SEED_BODY, "k1")
    status, _, b = await post_with_key(api, company["publicToken"], SEED_BODY, "k2")
    assert status == 201 and a["id"] != b["id"]


ONE = [{"name": "a", "price": 1}]
BAD_BODIES = [
    # (id, raw body or JSON value, code, field)
    ("invalid json", b'{"invoiceCurrency": "eur",', "invalid_json", None),
    ("empty body", b"", "invalid_body", None),
    ("body is a list", [1, 2], "invalid_body", None),
    ("body is a string", "eur", "invalid_body", None),
    ("NaN literal", b'{"invoiceCurrency": "eur", "items": [{"name": "a", "price": NaN}]}', "invalid_json", None),
    (
        "Infinity literal",
        b'{"invoiceCurrency": "eur", "items": [{"name": "a", "price": Infinity}]}',
        "invalid_json",
        None,
    ),
    ("not utf-8", b'{"invoiceCurrency": "\xff"}', "invalid_json", None),
    ("currency missing", {"items": ONE}, "required", "invoiceCurrency"),
    ("currency unknown", {"invoiceCurrency": "doge", "items": ONE}, "unknown_currency", "invoiceCurrency"),
    (
        "currency is a payment network",
        {"invoiceCurrency": "trc20usdt", "items": ONE},
        "unknown_currency",
        "invoiceCurrency",
    ),
    ("currency wrong type", {"invoiceCurrency": 978, "items": ONE}, "unknown_currency", "invoiceCurrency"),
    ("currency null", {"invoiceCurrency": None, "items": ONE}, "invalid_type", "invoiceCurrency"),
    ("items missing", {"invoiceCurrency": "eur"}, "required", "items"),
    ("items empty", {"invoiceCurrency": "eur", "items": []}, "empty_items", "items"),
    ("items not a list", {"invoiceCurrency": "eur", "items": {"name": "a", "price": 1}}, "invalid_type", "items"),
    ("251 items", {"invoiceCurrency": "eur", "items": ONE * 251}, "too_many_items", "items"),
    ("item not an object", {"invoiceCurrency": "eur", "items": [1]}, "invalid_type", "items[0]"),
    ("name missing", {"invoiceCurrency": "eur", "items": [{"price": 1}]}, "required", "items[0].name"),
    (
        "name wrong type",
        {"invoiceCurrency": "eur", "items": [{"name": 7, "price": 1}]},
        "invalid_type",
        "items[0].name",
    ),
    ("name empty", {"invoiceCurrency": "eur", "items": [{"name": " ", "price": 1}]}, "invalid_name", "items[0].name"),
    (
        "name 201 chars",
        {"invoiceCurrency": "eur", "items": [*ONE, {"name": "n" * 201, "price": 1}]},
        "name_too_long",
        "items[1].name",
    ),
    ("price missing", {"invoiceCurrency": "eur", "items": [{"name": "a"}]}, "required", "items[0].price"),
    (
        "price text",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": "ten"}]},
        "invalid_price",
        "items[0].price",
    ),
    (
        "price NaN text",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": "NaN"}]},
        "invalid_price",
        "items[0].price",
    ),
    (
        "price Infinity text",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": "-Infinity"}]},
        "invalid_price",
        "items[0].price",
    ),
    (
        "price bool",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": True}]},
        "invalid_price",
        "items[0].price",
    ),
    (
        "price null",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": None}]},
        "invalid_price",
        "items[0].price",
    ),
    (
        "price list",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": [1]}]},
        "invalid_price",
        "items[0].price",
    ),
    (
        "price huge",
        b'{"invoiceCurrency": "eur", "items": [{"name": "a", "price": 1e400}]}',
        "invalid_price",
        "items[0].price",
    ),
    (
        "total zero",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": 1}, {"name": "b", "price": -1}]},
        "total_not_positive",
        "items",
    ),
    (
        "total negative",
        {"invoiceCurrency": "eur", "items": [{"name": "a", "price": -5}]},
        "total_not_positive",
        "items",
    ),
    (
        "total rounds to zero",
        {"invoiceCurrency": "usd", "items": [{"name": "a", "price": "0.004"}]},
        "total_not_positive",
        "items",
    ),
    (
        "fee flag not a bool",
        {"invoiceCurrency": "eur", "items": ONE, "isMerchantPaysFee": "yes"},
        "invalid_type",
        "isMerchantPaysFee",
    ),
    (
        "payment currency unknown",
        {"invoiceCurrency": "eur", "items": ONE, "paymentCurrency": "doge"},
        "unknown_payment_currency",
        "paymentCurrency",
    ),
    (
        "payment currency is a company asset, not a network",
        {"invoiceCurrency": "eur", "items": ONE, "paymentCurrency": "usdt"},
        "unknown_payment_currency",
        "paymentCurrency",
    ),
    (
        "redirect javascript",
        {"invoiceCurrency": "eur", "items": ONE, "redirectURL": "javascript:alert(1)"},
        "invalid_url",
        "redirectURL",
    ),
    (
        "redirect ftp",
        {"invoiceCurrency": "eur", "items": ONE, "redirectURL": "ftp://shop.example/x"},
        "invalid_url",
        "redirectURL",
    ),
    (
        "redirect relative",
        {"invoiceCurrency": "eur", "items": ONE, "redirectURL": "/done"},
        "invalid_url",
        "redirectURL",
    ),
    (
        "redirect no host",
        {"invoiceCurrency": "eur", "items": ONE, "redirectURL": "https://"},
        "invalid_url",
        "redirectURL",
    ),
    ("redirect not a string", {"invoiceCurrency": "eur", "items": ONE, "redirectURL": 5}, "invalid_url", "redirectURL"),
    (
        "redirect too long",
        {"invoiceCurrency": "eur", "items": ONE, "redirectURL": "https://x.example/" + "a" * 2048},
        "invalid_url",
        "redirectURL",
    ),
]


@pytest.mark.parametrize(("body", "code", "field"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
async def test_bad_create_input_is_a_400_naming_the_field_and_writes_nothing(api, company, db_url, body, code, field):
    before = await row_counts(db_url)
    if isinstance(body, bytes):
        status, answer = await api.call("POST", CREATE, token=company["publicToken"], raw=body)
    else:
        status, answer = await api.call("POST", CREATE, token=company["publicToken"], json_body=body)
    assert_error(status, answer, 400, code, field)
    assert await row_counts(db_url) == before


async def test_the_limits_themselves_are_accepted(api, company):
    items = [{"name": "n" * 200, "price": "0.01"}] * 250
    view = await create_invoice(
        api, company["publicToken"], invoiceCurrency="usd", items=items, redirectURL="http://shop.example/" + "a" * 2000
    )
    assert len(view["invoiceContent"]["items"]) == 250
    assert view["invoiceContent"]["total"] == "2.5"


async def test_an_overlong_idempotency_key_is_rejected(api, company, db_url):
    before = await row_counts(db_url)
    status, _, body = await post_with_key(api, company["publicToken"], SEED_BODY, "k" * 256)
    assert_error(status, body, 400, "invalid_idempotency_key", "Idempotency-Key")
    assert await row_counts(db_url) == before


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer pk_unknown"}, {"Authorization": "Basic dXNlcjpwdw=="}],
    ids=["missing", "empty bearer", "unknown token", "basic auth"],
)
async def test_create_without_a_valid_token_is_a_401_and_writes_nothing(api, company, db_url, headers):
    before = await row_counts(db_url)
    status, body = await api.call("POST", CREATE, json_body=SEED_BODY, headers=headers)
    assert_error(status, body, 401, "unauthorized", "Authorization")
    assert await row_counts(db_url) == before


async def test_the_secret_key_is_not_an_api_token(api, company):
    status, body = await api.call("POST", CREATE, token=company["secretKey"], json_body=SEED_BODY)
    assert_error(status, body, 401, "unauthorized", "Authorization")


async def test_a_revoked_token_is_a_401(api, company, db_url):
    await create_invoice(api, company["publicToken"])  # the token is now in the process's company cache
    await sql(db_url, "UPDATE api_tokens SET revoked_at = now() WHERE company_id = $1", company["id"])
    # the cache is dropped by a NOTIFY that arrives asynchronously: allow it a second, no more
    deadline = time.monotonic() + 1.0
    while (await api.call("GET", "/api/company/assets", token=company["publicToken"]))[0] != 401:
        assert time.monotonic() < deadline, "a revoked token was still accepted after 1 s"
        await asyncio.sleep(0.01)
    before = await row_counts(db_url)
    status, body = await api.call("POST", CREATE, token=company["publicToken"], json_body=SEED_BODY)
    assert_error(status, body, 401, "unauthorized", "Authorization")
    assert await row_counts(db_url) == before


@pytest.mark.parametrize(
    "invoice_id",
    ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "1", "' OR 1=1 --"],
)
async def test_an_unknown_or_malformed_invoice_id_is_a_404(api, company, invoice_id):
    await create_invoice(api, company["publicToken"])
    status, body = await api.call("GET", f"{CREATE}/{invoice_id}")
    assert_error(status, body, 404, "invoice_not_found", "id")


async def test_get_needs_no_token(api, company):
    view = await create_invoice(api, company["publicToken"])
    status, got = await api.call("GET", f"{CREATE}/{view['id']}", headers={"Authorization": "Bearer whatever"})
    assert status == 200 and got["id"] == view["id"]


async def test_a_wrong_method_is_a_json_405(api, company):
    status, body = await api.call("DELETE", CREATE, token=company["publicToken"])
    assert_error(status, body, 405, "method_not_allowed", None)
