"""The merchant account API over real HTTP: settings, limits, decisions, the invoice list, keys, deliveries."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from coinvoice.services.companies import create_company
from coinvoice.services.invoices import expire_due_invoices
from coinvoice.webhooks.signing import verify_legacy_signature, verify_signature
from tests.api.invoice_setup import assert_error, create_invoice, pending_invoice, sql
from tests.webhooks.helpers import add_late_deposit, check_signatures_by_hand, invoice_path, later, make_wrong

SETTINGS_PATH = "/api/company/settings"
LIMITS = "/api/company/underpayment-limits"
LIST = "/api/invoices/v1"


async def other_company(pool, settings) -> dict[str, str]:
    return await create_company(pool, settings, "Other shop", None, None)


async def test_company_settings_read_and_patch_only_the_fields_sent(api, company):
    token = company["publicToken"]
    status, body = await api.call("GET", SETTINGS_PATH, token=token)
    assert (status, body) == (
        200,
        {
            "name": "Coffee & Co <b>",
            "logoUrl": "https://shop.example/logo.png",
            "redirectURL": "https://shop.example/done",
            "webHookUrl": None,
            "supportUrl": None,
            "supportEmail": None,
            "brandColor": None,
            "brandPalette": None,
        },
    )
    status, body = await api.call("PATCH", SETTINGS_PATH, token=token, json_body={"name": "Tea", "logoUrl": None})
    assert status == 200 and body["name"] == "Tea" and body["logoUrl"] is None
    assert body["redirectURL"] == "https://shop.example/done"
    status, body = await api.call("PATCH", SETTINGS_PATH, token=token, json_body={"redirectURL": "javascript:x"})
    assert_error(status, body, 400, "invalid_url", "redirectURL")
    status, body = await api.call("PATCH", SETTINGS_PATH, token=token, json_body={"name": None})
    assert_error(status, body, 400, "required", "name")
    status, body = await api.call("GET", SETTINGS_PATH)
    assert status == 401


async def test_support_contact_is_a_setting_checked_like_the_other_urls(api, company):
    token = company["publicToken"]
    change = {"supportUrl": "https://shop.example/help", "supportEmail": "help@shop.example"}
    status, body = await api.call("PATCH", SETTINGS_PATH, token=token, json_body=change)
    assert (
        status == 200 and body["supportUrl"] == change["supportUrl"] and body["supportEmail"] == change["supportEmail"]
    )
    status, body = await api.call("PATCH", SETTINGS_PATH, token=token, json_body={"supportUrl": "javascript:x"})
    assert_error(status, body, 400, "invalid_url", "supportUrl")
    status, body = await api.call("PATCH", SETTINGS_PATH, token=token, json_body={"supportEmail": "not an email"})
    assert_error(status, body, 400, "invalid_email", "supportEmail")
    status, body = await api.call("PATCH", SETTINGS_PATH, token=token, json_body={"supportEmail": None})
    assert status == 200 and body["supportEmail"] is None and body["supportUrl"] == change["supportUrl"]


async def test_webhook_url_put_get_and_clear(api, company):
    token, path = company["publicToken"], "/api/company/settings/webhook-url"
    status, body = await api.call("PUT", path, token=token, json_body={"webHookUrl": "http://127.0.0.1:9/h"})
    assert (status, body) == (200, {"webHookUrl": "http://127.0.0.1:9/h"})  # tests allow private addresses
    assert (await api.call("GET", path, token=token))[1] == {"webHookUrl": "http://127.0.0.1:9/h"}
    status, body = await api.call("PUT", path, token=token, json_body={"webHookUrl": "gopher://x"})
    assert_error(status, body, 400, "invalid_url", "webHookUrl")
    status, body = await api.call("PUT", path, token=token, json_body={})
    assert_error(status, body, 400, "required", "webHookUrl")
    assert (await api.call("PUT", path, token=token, json_body={"webHookUrl": None}))[1] == {"webHookUrl": None}


async def test_underpayment_limits_list_every_asset_take_numbers_or_strings_and_answer_strings(api, company, db_url):
    token = company["publicToken"]
    status, body = await api.call("GET", LIMITS, token=token)
    assert status == 200 and len(body["assets"]) == 11
    assert body["assets"]["btc"] == {"static": "0", "percentage": "0"}
    status, body = await api.call(
        "PATCH",
        LIMITS,
        token=token,
        json_body={"assets": {"btc": {"static": 0.0001, "percentage": "1.5"}, "LTC": {"percentage": 2}}},
    )
    assert status == 200, body
    assert body["assets"]["btc"] == {"static": "0.0001", "percentage": "1.5"}
    assert body["assets"]["ltc"] == {"static": "0", "percentage": "2"}
    status, body = await api.call("PATCH", LIMITS, token=token, json_body={"assets": {"btc": {"percentage": 3}}})
    assert body["assets"]["btc"] == {"static": "0.0001", "percentage": "3"}  # static kept
    rows = await sql(db_url, "SELECT underpay_static, underpay_percent FROM company_assets WHERE asset = 'btc'")
    assert (rows[0]["underpay_static"], rows[0]["underpay_percent"]) == (Decimal("0.0001"), Decimal(3))
    bad = [
        ({"btc": {"percentage": 101}}, "out_of_range", "assets.btc.percentage"),
        ({"btc": {"static": -1}}, "out_of_range", "assets.btc.static"),
        ({"btc": {"static": "abc"}}, "invalid_number", "assets.btc.static"),
        ({"btc": {"static": True}}, "invalid_number", "assets.btc.static"),
        ({"btc": {"static": "0.000000001"}}, "too_precise", "assets.btc.static"),
        ({"doge": {"static": 1}}, "unknown_asset", "assets.doge"),
    ]
    for assets, code, field in bad:
        status, body = await api.call("PATCH", LIMITS, token=token, json_body={"assets": assets})
        assert_error(status, body, 400, code, field)


async def test_accept_and_reject_follow_the_state_machine_and_answer_409_otherwise(
    api, company, db_url, pool, settings
):
    from tests.api.invoice_setup import accept_ltc

    token = company["publicToken"]
    await accept_ltc(api, token)
    wrong = await pending_invoice(api, token)
    status, body = await api.call("POST", invoice_path(wrong["id"], "accept"), token=token)
    assert_error(status, body, 409, "invalid_state", "status")  # still pending
    await make_wrong(db_url, wrong["id"])
    status, body = await api.call("POST", invoice_path(wrong["id"], "reject"), token=token)
    assert (status, body["status"]) == (200, "refunded")
    status, body = await api.call("POST", invoice_path(wrong["id"], "accept"), token=token)
    assert_error(status, body, 409, "invalid_state", "status")
    resolution = await sql(db_url, "SELECT resolution FROM invoices WHERE id = $1", uuid.UUID(wrong["id"]))
    assert resolution[0]["resolution"] == "rejected"

    expired = await pending_invoice(api, token)
    await expire_due_invoices(pool, settings, now=later())
    status, body = await api.call("POST", invoice_path(expired["id"], "accept"), token=token)
    assert_error(status, body, 409, "no_late_payment", "status")
    status, body = await api.call("POST", invoice_path(expired["id"], "reject"), token=token)
    assert_error(status, body, 409, "invalid_state", "status")
    await add_late_deposit(db_url, expired["id"])
    status, body = await api.call("POST", invoice_path(expired["id"], "accept"), token=token)
    assert (status, body["status"]) == (200, "done")

    stranger = await other_company(pool, settings)
    status, body = await api.call("POST", invoice_path(expired["id"], "accept"), token=stranger["publicToken"])
    assert_error(status, body, 404, "invoice_not_found", "id")
    status, body = await api.call("POST", invoice_path("not-a-uuid", "reject"), token=token)
    assert_error(status, body, 404, "invoice_not_found", "id")
    types = await sql(db_url, "SELECT type FROM events WHERE invoice_id = $1 ORDER BY seq", uuid.UUID(expired["id"]))
    assert [t["type"] for t in types] == ["invoice.created", "invoice.pending", "invoice.expired", "invoice.done"]


async def test_invoice_list_pages_are_stable_while_new_invoices_arrive(api, company, pool, settings):
    token = company["publicToken"]
    first = [(await create_invoice(api, token))["id"] for _ in range(7)]
    stranger = await other_company(pool, settings)
    await create_invoice(api, stranger["publicToken"])
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        status, page = await api.call("GET", LIST + query, token=token)
        assert status == 200, page
        seen += [i["id"] for i in page["items"]]
        pages += 1
        await create_invoice(api, token)  # a newer invoice between pages: never shifts the next page
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(first)) and pages == 3
    status, page = await api.call("GET", LIST + "?limit=100", token=token)
    assert len(page["items"]) == 10 and page["nextCursor"] is None


async def test_invoice_list_filters_by_status_and_created_range_and_refuses_bad_input(api, company, db_url):
    token = company["publicToken"]
    old = await create_invoice(api, token)
    await sql(
        db_url,
        "UPDATE invoices SET created_at = '2025-01-01T00:00:00Z', status = 'expired' WHERE id = $1",
        uuid.UUID(old["id"]),
    )
    new = await create_invoice(api, token)
    status, page = await api.call("GET", LIST + "?status=expired", token=token)
    assert [i["id"] for i in page["items"]] == [old["id"]]
    status, page = await api.call("GET", LIST + "?status=created,expired&createdFrom=2025-06-01T00:00:00Z", token=token)
    assert [i["id"] for i in page["items"]] == [new["id"]]
    status, page = await api.call("GET", LIST + "?createdTo=2025-06-01T00:00:00%2B02:00", token=token)
    assert [i["id"] for i in page["items"]] == [old["id"]]
    for query, code, field in [
        ("?status=paid", "invalid_status", "status"),
        ("?limit=0", "out_of_range", "limit"),
        ("?limit=x", "invalid_number", "limit"),
        ("?cursor=nonsense", "invalid_cursor", "cursor"),
        ("?createdFrom=yesterday", "invalid_time", "createdFrom"),
    ]:
        status, body = await api.call("GET", LIST + query, token=token)
        assert_error(status, body, 400, code, field)


async def test_rotation_signs_with_both_keys_during_the_grace_period_then_only_the_new_one(
    api, hooked, receiver, db_url, start_worker
):
    token, old_key = hooked["publicToken"], hooked["secretKey"]
    status, body = await api.call("POST", "/api/company/secret-key/rotate", token=token, json_body={})
    assert status == 201 and body["secretKey"] != old_key and body["activeKeys"] == 2
    assert body["previousKeysValidUntil"]
    new_key = body["secretKey"]
    await start_worker()
    await create_invoice(api, token)
    await receiver.wait_for(lambda r: len(r.delivered) == 1)
    got = receiver.delivered[0]
    assert got.headers["Coinvoice-Signature"].count("v1=") == 2
    assert verify_signature(got.body, got.headers, old_key) and verify_signature(got.body, got.headers, new_key)
    assert verify_legacy_signature(got.body, got.headers, new_key)
    check_signatures_by_hand(got, [old_key], legacy_too=False)  # the legacy header: newest key only
    check_signatures_by_hand(got, [new_key])

    status, body = await api.call(
        "POST", "/api/company/secret-key/rotate", token=token, json_body={"gracePeriodSeconds": 0}
    )
    newest = body["secretKey"]
    assert body["activeKeys"] == 1 and body["previousKeysValidUntil"] is None
    await create_invoice(api, token)
    await receiver.wait_for(lambda r: len(r.delivered) == 2)
    got = receiver.delivered[1]
    assert got.headers["Coinvoice-Signature"].count("v1=") == 1
    assert verify_signature(got.body, got.headers, newest)
    assert not verify_signature(got.body, got.headers, [old_key, new_key])
    status, body = await api.call(
        "POST", "/api/company/secret-key/rotate", token=token, json_body={"gracePeriodSeconds": -1}
    )
    assert_error(status, body, 400, "out_of_range", "gracePeriodSeconds")


async def test_deliveries_list_attempts_and_redeliver_sends_again(
    api, hooked, receiver, db_url, start_worker, pool, settings
):
    token = hooked["publicToken"]
    receiver.status = 500
    await start_worker()
    invoice = await create_invoice(api, token)
    await receiver.wait_for(lambda r: len(r.received) >= 2)
    status, page = await api.call("GET", "/api/webhooks/deliveries", token=token)
    assert status == 200 and len(page["items"]) == 1
    item = page["items"][0]
    assert item["invoiceId"] == invoice["id"] and item["type"] == "invoice.created" and item["state"] == "pending"
    assert item["attempts"] >= 1 and item["nextAttemptAt"] and item["lastStatusCode"] == 500
    assert item["recentAttempts"][0]["statusCode"] == 500 and item["recentAttempts"][0]["durationMs"] >= 0
    assert item["recentAttempts"][0]["responseExcerpt"] == "nope"  # the start of the receiver's answer
    receiver.status = 200
    await receiver.wait_for(lambda r: len(r.delivered) == 1, within=10)
    for _ in range(100):
        status, page = await api.call("GET", "/api/webhooks/deliveries?state=delivered", token=token)
        if page["items"]:
            break
        await asyncio.sleep(0.02)
    delivery = page["items"][0]
    assert delivery["deliveredAt"] and delivery["nextAttemptAt"] is None

    status, body = await api.call("POST", f"/api/webhooks/deliveries/{delivery['id']}/redeliver", token=token)
    assert status == 202 and body["state"] == "pending"
    await receiver.wait_for(lambda r: len(r.delivered) == 2, within=10)
    assert receiver.delivered[1].body == receiver.delivered[0].body  # the same event, byte for byte

    stranger = await other_company(pool, settings)
    status, body = await api.call(
        "POST", f"/api/webhooks/deliveries/{delivery['id']}/redeliver", token=stranger["publicToken"]
    )
    assert_error(status, body, 404, "delivery_not_found", "id")
    status, page = await api.call("GET", "/api/webhooks/deliveries", token=stranger["publicToken"])
    assert page == {"items": [], "nextCursor": None}
    status, body = await api.call("GET", "/api/webhooks/deliveries?state=lost", token=token)
    assert_error(status, body, 400, "invalid_state", "state")
