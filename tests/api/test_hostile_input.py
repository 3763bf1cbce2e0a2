"""Hostile input (issue #12): each case once answered 500 or was stored; now a clear 400/401 and nothing written."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from tests.api.invoice_setup import CREATE, accept_ltc, assert_error, create_invoice, fill, row_counts, sql
from tests.conftest import TPUB, Api

SETTINGS = "/api/company/settings"
WEBHOOK = "/api/company/settings/webhook-url"
LIMITS = "/api/company/underpayment-limits"
ROTATE = "/api/company/secret-key/rotate"


async def raw_request(api: Api, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send bytes exactly as given (headers that are not UTF-8, odd bodies) and read the whole answer."""
    reader, writer = await asyncio.open_connection(api.server.host, api.server.port)
    try:
        writer.write(head + b"Host: 127.0.0.1\r\nConnection: close\r\n")
        writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head_part, _, payload = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, payload


def error_of(payload: bytes) -> dict[str, Any]:
    return json.loads(payload)["error"]


# 1: a key changed and changed back resumes after the highest index ever used with it
async def test_a_key_set_again_resumes_after_its_highest_index(api, company, db_url):
    from tests.api.test_company_api import other_tpub

    token = company["publicToken"]
    await accept_ltc(api, token)
    for _ in range(3):
        status, _ = await fill(api, (await create_invoice(api, token))["id"])
        assert status == 200
    for key in (other_tpub(), TPUB):
        status, body = await api.call("PUT", "/api/company/wallets/litecoin", token=token, json_body={"xpub": key})
        assert status == 200, body
    status, body = await api.call("GET", "/api/company/wallets", token=token)
    assert body["wallets"][0]["addressesAllocated"] == 3
    status, view = await fill(api, (await create_invoice(api, token))["id"])
    assert status == 200, view
    rows = await sql(db_url, "SELECT derivation_index FROM addresses ORDER BY derivation_index")
    assert [r[0] for r in rows] == [0, 1, 2, 3]


# 2: deep nesting
async def test_deeply_nested_json_is_invalid_json(api, company, db_url):
    before = await row_counts(db_url)
    status, body = await api.call("POST", CREATE, token=company["publicToken"], raw=b"[" * 100_000 + b"]" * 100_000)
    assert_error(status, body, 400, "invalid_json", None)
    assert await row_counts(db_url) == before


@pytest.mark.parametrize("path", ["/api/invoices/v1", "/api/company/deposits"])
async def test_a_deeply_nested_cursor_is_invalid(api, company, path):
    cursor = base64.urlsafe_b64encode(b"[" * 5000).decode()  # the issue: 1,500; deeper than any limit here
    status, body = await api.call("GET", f"{path}?cursor={cursor}", token=company["publicToken"])
    assert_error(status, body, 400, "invalid_cursor", "cursor")


async def test_invalid_json_messages_do_not_leak_python_internals(api, company):
    status, body = await api.call("POST", CREATE, token=company["publicToken"], raw=b'{"a": ' + b"9" * 5000 + b"}")
    assert_error(status, body, 400, "invalid_json", None)
    assert "sys." not in body["error"]["message"] and "int_max_str_digits" not in body["error"]["message"]


# 3, 14: prices
@pytest.mark.parametrize(
    "raw_price",
    [
        b"1e1000000",
        b'"9E+999999999"',
        b"1e-1000000",
        b'"1_000"',
        '"١"'.encode(),
        '"１０"'.encode(),
        b'" 5 "',
        b'"+5"',
        b'"5e3"',
        b'"0x10"',
        b'""',
        b'"."',
        b'"5."',
        b'".5"',
    ],
)
async def test_a_price_must_be_a_plain_decimal(api, company, db_url, raw_price):
    before = await row_counts(db_url)
    raw = b'{"invoiceCurrency": "eur", "items": [{"name": "x", "price": ' + raw_price + b"}]}"
    status, body = await api.call("POST", CREATE, token=company["publicToken"], raw=raw)
    assert_error(status, body, 400, "invalid_price", "items[0].price")
    assert await row_counts(db_url) == before


@pytest.mark.parametrize("price", ["5", "-3", "10.99", "0", "0.5"])
async def test_plain_decimal_prices_are_accepted(api, company, price):
    await create_invoice(
        api, company["publicToken"], items=[{"name": "x", "price": "5"}, {"name": "y", "price": price}]
    )


# 4, 7: text PostgreSQL cannot store
@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "a\udfffb"])
async def test_item_names_with_nul_or_lone_surrogates_are_refused(api, company, db_url, bad):
    before = await row_counts(db_url)
    body = {"invoiceCurrency": "eur", "items": [{"name": bad, "price": "1"}]}
    status, answer = await api.call("POST", CREATE, token=company["publicToken"], json_body=body)
    assert_error(status, answer, 400, "invalid_text", "items[0].name")
    assert await row_counts(db_url) == before


@pytest.mark.parametrize(
    "path,method,body,field",
    [
        (SETTINGS, "PATCH", {"name": "a\x00b"}, "name"),
        (SETTINGS, "PATCH", {"name": "\ud800"}, "name"),
        (SETTINGS, "PATCH", {"name": "   "}, "name"),
        (SETTINGS, "PATCH", {"redirectURL": "https://a.example/\x00"}, "redirectURL"),
        (WEBHOOK, "PUT", {"webHookUrl": "https://a.example/\x00"}, "webHookUrl"),
        (
            CREATE,
            "POST",
            {"invoiceCurrency": "eur", "items": [{"name": "a", "price": 1}], "redirectURL": "https://a.example/\x00"},
            "redirectURL",
        ),
    ],
)
async def test_bad_text_in_settings_is_a_400(api, company, db_url, path, method, body, field):
    before = await sql(db_url, "SELECT name, logo_url, redirect_url, webhook_url FROM companies")
    status, answer = await api.call(method, path, token=company["publicToken"], json_body=body)
    assert status == 400, answer
    assert answer["error"]["field"] == field
    assert await sql(db_url, "SELECT name, logo_url, redirect_url, webhook_url FROM companies") == before


# 5: header bytes that are not UTF-8
async def test_an_authorization_header_that_is_not_utf8_is_a_401(api):
    status, _, payload = await raw_request(
        api, b"GET /api/company/settings HTTP/1.1\r\nAuthorization: Bearer pk_\xe9\r\n"
    )
    assert status == 401
    assert error_of(payload)["code"] == "unauthorized"


async def test_an_idempotency_key_that_is_not_ascii_is_a_400(api, company, db_url):
    before = await row_counts(db_url)
    body = json.dumps({"invoiceCurrency": "eur", "items": [{"name": "a", "price": 1}]}).encode()
    head = (
        f"POST {CREATE} HTTP/1.1\r\nAuthorization: Bearer {company['publicToken']}\r\n".encode()
        + b"Content-Type: application/json\r\nIdempotency-Key: \xe9\xff\r\n"
    )
    status, _, payload = await raw_request(api, head, body)
    assert status == 400
    assert error_of(payload)["code"] == "invalid_idempotency_key"
    assert await row_counts(db_url) == before


# 6, 12: URLs
BAD_URLS = [
    "https://i.example;frame-ancestors *;x/l.png",
    "https://a.example/x\r\nSet-Cookie: a=b",
    "https://a.example/x y",
    'https://a.example/"x"',
    "https://a.example/%zz",
    "\thttps://a.example/",
    "https://a.example:0/",
    "https://a.example:８０/",
    "https://a.example:99999/",
    "https://exa mple.com/",
    "https://a.example/<script>",
]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize(
    "path,method,field",
    [(SETTINGS, "PATCH", "logoUrl"), (SETTINGS, "PATCH", "redirectURL"), (WEBHOOK, "PUT", "webHookUrl")],
)
async def test_malformed_urls_are_refused(api, company, db_url, url, path, method, field):
    before = await sql(db_url, "SELECT logo_url, redirect_url, webhook_url FROM companies")
    status, answer = await api.call(method, path, token=company["publicToken"], json_body={field: url})
    assert_error(status, answer, 400, "invalid_url", field)
    assert await sql(db_url, "SELECT logo_url, redirect_url, webhook_url FROM companies") == before


async def test_a_stored_logo_url_is_never_spliced_raw_into_the_csp(api, company, db_url):
    await sql(db_url, "UPDATE companies SET logo_url = 'https://i.example;frame-ancestors *;x/l.png'")
    invoice = await create_invoice(api, company["publicToken"])
    async with api.session.get(f"{api.base}/{invoice['id']}") as resp:
        csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors *" not in csp and csp.count(";") == 8, csp


# 13: not public after unwrapping
@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:7f00:1::]/",
        "http://192.0.0.8/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
async def test_wrapped_private_addresses_are_not_public(url):
    from coinvoice.domain.errors import Invalid
    from coinvoice.net.urlcheck import check_webhook_url

    with pytest.raises(Invalid) as caught:
        await check_webhook_url(url, allow_private=False)
    assert caught.value.code == "webhook_url_not_public"


async def test_a_public_address_is_still_public():
    from coinvoice.net.urlcheck import check_webhook_url

    await check_webhook_url("http://[2002:0808:0808::]/", allow_private=False)
    await check_webhook_url("https://8.8.8.8/hook", allow_private=False)


# 8: ASCII digits only
@pytest.mark.parametrize("path", ["/api/invoices/v1", "/api/webhooks/deliveries", "/api/company/deposits"])
@pytest.mark.parametrize(
    "query,field", [("limit=²", "limit"), ("limit=٣", "limit"), ("limit=１", "limit"), ("cursor=²", "cursor")]
)
async def test_only_ascii_digits_count(api, company, path, query, field):
    status, body = await api.call("GET", f"{path}?{query}", token=company["publicToken"])
    assert status == 400, body
    assert body["error"]["field"] == field


# 9, 15: key rotation
@pytest.mark.parametrize("grace", [86_400_000_000_000, -86_400_000_000_000, 2**63, -1, 30 * 86400 + 1])
async def test_a_grace_period_out_of_range_is_a_400(api, company, db_url, grace):
    before = await sql(db_url, "SELECT count(*) FROM api_tokens")
    status, body = await api.call("POST", ROTATE, token=company["publicToken"], json_body={"gracePeriodSeconds": grace})
    assert_error(status, body, 400, "out_of_range", "gracePeriodSeconds")
    assert "2592000" in body["error"]["message"]
    assert await sql(db_url, "SELECT count(*) FROM api_tokens") == before


@pytest.mark.parametrize("raw", [b"[]", b"null", b'""', b"0"])
async def test_a_rotation_body_that_is_not_an_object_is_a_400(api, company, db_url, raw):
    before = await sql(db_url, "SELECT count(*) FROM api_tokens")
    status, body = await api.call("POST", ROTATE, token=company["publicToken"], raw=raw)
    assert_error(status, body, 400, "invalid_body", None)
    assert await sql(db_url, "SELECT count(*) FROM api_tokens") == before


async def test_a_rotation_without_a_body_uses_the_defaults(api, company):
    status, body = await api.call("POST", ROTATE, token=company["publicToken"])
    assert status == 201, body


# 10: limits PostgreSQL cannot encode
@pytest.mark.parametrize(
    "raw_limit,field",
    [
        (b'{"percentage": "1e-20000"}', "percentage"),
        (b'{"static": "1e-999999999"}', "static"),
        (b'{"percentage": 1e-5000}', "percentage"),
        (b'{"static": 1e-999999999}', "static"),
        (b'{"static": "1_0"}', "static"),
        (b'{"percentage": "+5"}', "percentage"),
    ],
)
async def test_limits_with_absurd_exponents_are_a_400(api, company, db_url, raw_limit, field):
    before = await sql(db_url, "SELECT underpay_static FROM company_assets")
    raw = b'{"assets": {"ltc": ' + raw_limit + b"}}"
    status, body = await api.call("PATCH", LIMITS, token=company["publicToken"], raw=raw)
    assert status == 400, body
    assert body["error"]["field"] == f"assets.ltc.{field}"
    assert await sql(db_url, "SELECT underpay_static FROM company_assets") == before


# 11: the no-JavaScript form
async def test_a_malformed_multipart_form_is_a_400_page(api, company):
    invoice = await create_invoice(api, company["publicToken"])
    head = f"POST /{invoice['id']} HTTP/1.1\r\n".encode() + b"Content-Type: multipart/form-data; boundary=zzz\r\n"
    status, headers, _ = await raw_request(api, head, b"--zzz\r\nnot a part\r\n")
    assert status == 400
    assert headers["content-type"].startswith("text/html")


# 18: idempotency compares the normalised request
@pytest.mark.parametrize(
    "first,second",
    [
        ({"items": [{"name": "a", "price": "5"}]}, {"items": [{"name": "a", "price": "5.00"}]}),
        ({"items": [{"name": "a", "price": "5"}]}, {"items": [{"name": "a", "price": 5}]}),
        ({"invoiceCurrency": "EUR"}, {"invoiceCurrency": "eur"}),
        ({}, {"isMerchantPaysFee": False}),
    ],
)
async def test_an_idempotent_replay_compares_the_normalised_request(api, company, first, second):
    base: dict[str, Any] = {"invoiceCurrency": "eur", "items": [{"name": "a", "price": "5"}]}
    headers = {"Idempotency-Key": "k-1"}
    s1, v1 = await api.call("POST", CREATE, token=company["publicToken"], json_body={**base, **first}, headers=headers)
    s2, v2 = await api.call("POST", CREATE, token=company["publicToken"], json_body={**base, **second}, headers=headers)
    assert (s1, s2) == (201, 200), v2
    assert v1["id"] == v2["id"]


async def test_an_idempotent_replay_with_a_different_price_is_a_conflict(api, company):
    headers = {"Idempotency-Key": "k-2"}
    body = {"invoiceCurrency": "eur", "items": [{"name": "a", "price": "5"}]}
    await api.call("POST", CREATE, token=company["publicToken"], json_body=body, headers=headers)
    body["items"][0]["price"] = "5.01"
    status, answer = await api.call("POST", CREATE, token=company["publicToken"], json_body=body, headers=headers)
    assert_error(status, answer, 409, "idempotency_key_reused", "Idempotency-Key")


# Also: emails
@pytest.mark.parametrize("email", ["a..b@x.example", ".a@x.example", "a.@x.example", "a@x..example", "a@-x.example"])
async def test_malformed_emails_are_refused(api, company, email):
    token = company["publicToken"]
    await accept_ltc(api, token)
    status, body = await fill(api, (await create_invoice(api, token))["id"], email=email)
    assert_error(status, body, 400, "invalid_email", "clientEmail")


@pytest.mark.parametrize("email", ["jörg@münchen.example", "用户@例子.example", "o'brien+tag@shop.example"])
async def test_internationalised_emails_are_accepted(api, company, email):
    token = company["publicToken"]
    await accept_ltc(api, token)
    status, body = await fill(api, (await create_invoice(api, token))["id"], email=email)
    assert status == 200, body


# 17: an over-long request line (the parser answers before any route or middleware)
async def test_an_overlong_request_line_is_a_json_error(settings, db_url):
    from aiohttp.test_utils import TestServer

    from coinvoice.app import create_app
    from coinvoice.web.server import JsonErrorRunner

    class GatewayServer(TestServer):
        async def _make_runner(self, **kwargs):
            return JsonErrorRunner(self.app, **kwargs)

    server = GatewayServer(create_app(settings, dsn=db_url, role="api"), host="127.0.0.1")
    await server.start_server()
    try:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /api/invoices/v1?x=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        data = await reader.read()
        writer.close()
    finally:
        await server.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"400"
    assert b"content-type: application/json" in head.lower()
    assert error_of(payload)["code"] == "bad_request"


# Also: what an unguessable-id reader may see
async def test_the_unauthenticated_invoice_reads_never_show_the_payer_email(api, company):
    token = company["publicToken"]
    await accept_ltc(api, token)
    invoice = await create_invoice(api, token)
    status, filled = await fill(api, invoice["id"], email="secret@payer.example")
    assert status == 200 and "clientEmail" not in filled
    status, again = await fill(api, invoice["id"], email="nosy@other.example")  # a second proceed reads it back
    assert status == 200 and "secret@payer.example" not in json.dumps(again)
    status, view = await api.call("GET", f"{CREATE}/{invoice['id']}")
    assert status == 200 and "clientEmail" not in view
    status, page = await api.call("GET", "/api/invoices/v1", token=token)
    assert page["items"][0]["clientEmail"] == "secret@payer.example"


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/products/v1", {"name": "Tea", "metadata": {"a\x00": "b"}}),
        ("/api/products/v1", {"name": "Tea", "metadata": {"a": "\x00"}}),
        ("/api/products/v1", {"name": "Tea", "description": "x\x00y"}),
        ("/api/customers/v1", {"name": "Ann\x00"}),
        ("/api/customers/v1", {"email": "a\x00@b.example"}),
    ],
)
async def test_nul_in_billing_catalog_text_is_a_400(api, company, db_url, path, body):
    """Found by the contract run: a NUL in a metadata key reached PostgreSQL and answered 500."""
    count = "SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM customers) AS n"
    status, answer = await api.call("POST", path, token=company["publicToken"], json_body=body)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_text"
    assert (await sql(db_url, count))[0]["n"] == 0
