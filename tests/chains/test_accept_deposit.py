"""Accepting a deposit that was not credited into an invoice, over the HTTP API, with litecoind regtest payments:
the invoice moves by the watcher's own rules, the events are written and the webhook is delivered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.webhooks.sender import WebhookSender
from tests.chains.watch_support import address_of, due, event_types, expire_invoice, ltc_invoice, view_of
from tests.conftest import Api


@pytest.fixture
async def ltc_api(ltc_settings, db_url) -> AsyncIterator[Api]:
    """The API with the watcher's settings (ltc needs one confirmation), so that it derives as the watcher does."""
    server = TestServer(create_app(ltc_settings, dsn=db_url, role="api"), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Api(server, session)
    await server.close()


async def _late_deposit(api, merchant, pool, litecoind, watcher, ltc_settings) -> tuple[dict, str]:
    """An expired invoice paid in full after its late window: recorded, not credited. Returns (view, deposit id)."""
    view = await ltc_invoice(api, merchant)
    await expire_invoice(pool, ltc_settings, view["id"], timedelta(hours=ltc_settings.late_payment_hours + 1))
    litecoind.send(address_of(view), due(view))
    await watcher.poll()
    litecoind.mine(1)
    await watcher.poll()
    row = await pool.fetchrow("SELECT id, credited, reason FROM deposits WHERE invoice_id = $1", uuid.UUID(view["id"]))
    assert (row["credited"], row["reason"]) == (False, "after_late_window")
    return view, str(row["id"])


async def test_a_payment_after_the_late_window_accepted_into_its_expired_invoice_pays_it_with_events_and_webhook(
    api, ltc_api, merchant, pool, litecoind, watcher, ltc_settings, receiver
):
    await pool.execute("UPDATE companies SET webhook_url = $2 WHERE id = $1", uuid.UUID(merchant["id"]), receiver.url)
    view, deposit_id = await _late_deposit(api, merchant, pool, litecoind, watcher, ltc_settings)
    token = merchant["publicToken"]

    status, body = await ltc_api.call(
        "POST", f"/api/company/deposits/{deposit_id}/accept", token=token, json_body={"invoiceId": view["id"]}
    )
    assert status == 200, body
    assert body["invoice"]["status"] == "done"
    assert body["invoice"]["paymentDetails"]["received"] == view["paymentDetails"]["amount"]
    assert body["invoice"]["paymentDetails"]["remaining"] == "0"
    dep = body["deposit"]
    assert (dep["credited"], dep["reason"], dep["late"]) == (True, None, False)
    assert (dep["acceptedReason"], dep["invoiceId"]) == ("after_late_window", view["id"])
    assert dep["acceptedAt"].endswith("Z")
    assert (await view_of(api, view["id"]))["status"] == "done"
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.expired",
        "deposit.not_credited",
        "deposit.accepted",
        "invoice.done",
    ]
    accepted = await pool.fetchval("SELECT payload FROM events WHERE type = 'deposit.accepted'")
    assert accepted["decision"] == "accepted" and accepted["previousReason"] == "after_late_window"
    assert "accepted by the merchant" in accepted["message"]

    # a new block changes nothing: the watcher's confirmation count keeps it done
    litecoind.mine(1)
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "done"

    settings = replace(ltc_settings, webhook_allow_private=True)
    async with aiohttp.ClientSession() as http:
        sender = WebhookSender(pool, http, settings)
        try:
            await sender.drain()
            await receiver.wait_for(
                lambda r: {"deposit.accepted", "invoice.done"} <= {x.payload["type"] for x in r.delivered}
            )
        finally:
            await sender.close()
    done = next(r.payload for r in receiver.delivered if r.payload["type"] == "invoice.done")
    assert done["invoiceId"] == view["id"] and done["invoice"]["status"] == "done"

    # decided once: the API refuses to accept or dismiss it again
    status, body = await ltc_api.call(
        "POST", f"/api/company/deposits/{deposit_id}/accept", token=token, json_body={"invoiceId": view["id"]}
    )
    assert (status, body["error"]["code"]) == (409, "deposit_credited")
    status, body = await ltc_api.call("POST", f"/api/company/deposits/{deposit_id}/dismiss", token=token)
    assert (status, body["error"]["code"]) == (409, "deposit_credited")


async def test_accept_refuses_clearly_and_writes_nothing(
    api, ltc_api, merchant, pool, litecoind, watcher, ltc_settings
):
    view, deposit_id = await _late_deposit(api, merchant, pool, litecoind, watcher, ltc_settings)
    token = merchant["publicToken"]
    path = f"/api/company/deposits/{deposit_id}/accept"
    cases = [
        (path, {"invoiceId": str(uuid.uuid4())}, 404, "invoice_not_found"),
        (path, {"invoiceId": "nope"}, 404, "invoice_not_found"),
        (path, {}, 400, "required"),
        (path, {"invoiceId": 7}, 400, "invalid_type"),
        (f"/api/company/deposits/{uuid.uuid4()}/accept", {"invoiceId": view["id"]}, 404, "deposit_not_found"),
    ]
    for url, body, code, error in cases:
        status, answer = await ltc_api.call("POST", url, token=token, json_body=body)
        assert (status, answer["error"]["code"]) == (code, error), (url, body, answer)

    other = await ltc_invoice(api, merchant)  # pending, ltc
    await pool.execute("UPDATE invoices SET payment_currency = 'btc' WHERE id = $1", uuid.UUID(other["id"]))
    status, answer = await ltc_api.call("POST", path, token=token, json_body={"invoiceId": other["id"]})
    assert (status, answer["error"]["code"]) == (409, "asset_mismatch")
    await pool.execute(
        "UPDATE invoices SET payment_currency = 'ltc', status = 'done' WHERE id = $1", uuid.UUID(other["id"])
    )
    status, answer = await ltc_api.call("POST", path, token=token, json_body={"invoiceId": other["id"]})
    assert (status, answer["error"]["code"]) == (409, "invalid_state")
    await pool.execute(
        "UPDATE deposits SET asset = NULL, reason = 'unknown_token' WHERE id = $1", uuid.UUID(deposit_id)
    )
    status, answer = await ltc_api.call("POST", path, token=token, json_body={"invoiceId": view["id"]})
    assert (status, answer["error"]["code"]) == (409, "unknown_token")
    await pool.execute(
        "UPDATE deposits SET asset = 'ltc', reason = 'after_late_window' WHERE id = $1", uuid.UUID(deposit_id)
    )

    status, answer = await ltc_api.call("POST", f"/api/company/deposits/{deposit_id}/dismiss", token=token)
    assert status == 200 and answer["id"] == deposit_id, answer
    status, answer = await ltc_api.call("POST", path, token=token, json_body={"invoiceId": view["id"]})
    assert (status, answer["error"]["code"]) == (409, "deposit_dismissed")
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.expired",
        "deposit.not_credited",
        "deposit.dismissed",
    ]
    assert await pool.fetchval("SELECT credited FROM deposits WHERE id = $1", uuid.UUID(deposit_id)) is False
    assert (await view_of(api, view["id"]))["status"] == "expired"

    status, answer = await ltc_api.call("POST", f"/api/company/deposits/{deposit_id}/dismiss", token=None)
    assert status == 401
