"""The dashboard's pages and forms over HTTP: each action goes through the API's services and writes its events."""

from __future__ import annotations

import uuid
from decimal import Decimal

from markupsafe import escape

from coinvoice.addresses.derive import derive_address
from tests.conftest import TPUB
from tests.dashboard.support import add_user
from tests.webhooks.receiver import Receiver

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def _owner(dash, clients):
    me = clients(dash)
    assert await me.sign_in(await add_user(dash)) == 200
    return me


async def test_every_page_renders_for_a_signed_in_owner(dash, clients):
    me = await _owner(dash, clients)
    inv = await dash.create_invoice()
    for path in (
        "/dashboard/invoices",
        f"/dashboard/invoices/{inv['id']}",
        "/dashboard/invoices/new",
        "/dashboard/deposits",
        "/dashboard/settings",
        "/dashboard/wallets",
        "/dashboard/keys",
        "/dashboard/users",
        "/dashboard/password",
    ):
        status, html = await me.get(path)
        assert status == 200, (path, html[:500])
    status, _ = await me.get("/dashboard/nothing-here")
    assert status == 404


async def test_create_invoice_form_writes_the_same_invoice_and_event_as_the_api_and_escapes_item_names(dash, clients):
    me = await _owner(dash, clients)
    await me.get("/dashboard/invoices/new")
    form = [
        ("currency", "eur"),
        ("item_name", HOSTILE),
        ("item_price", "12.50"),
        ("item_name", ""),
        ("item_price", ""),
        ("redirect_url", ""),
        ("payment_currency", "ltc"),
    ]
    status, html = await me.post("/dashboard/invoices/new", form)
    assert status == 200 and "Invoice created" in html
    assert HOSTILE not in html and escape(HOSTILE) in html
    row = await dash.pool.fetchrow("SELECT id, items, total, status, preset_currency FROM invoices")
    assert row["status"] == "created" and str(row["total"]) == "12.50" and row["preset_currency"] == "ltc"
    assert await dash.pool.fetchval("SELECT type FROM events WHERE invoice_id = $1", row["id"]) == "invoice.created"
    assert "invoice.created" in html  # the timeline
    api_view = await dash.view(str(row["id"]))
    assert [i["name"] for i in api_view["invoiceContent"]["items"]] == [HOSTILE]


async def test_create_invoice_form_shows_the_apis_error_and_writes_nothing(dash, clients):
    me = await _owner(dash, clients)
    await me.get("/dashboard/invoices/new")
    status, html = await me.post(
        "/dashboard/invoices/new", [("currency", "eur"), ("item_name", "Tea"), ("item_price", "1.2.3")]
    )
    assert status == 400 and "price" in html and 'value="Tea"' in html
    assert await dash.pool.fetchval("SELECT count(*) FROM invoices") == 0


async def test_invoice_list_filters_searches_and_pages(dash, clients):
    me = await _owner(dash, clients)
    ids = [(await dash.create_invoice())["id"] for _ in range(27)]
    await dash.fill(ids[0])  # payer@example.com, pending
    status, html = await me.get("/dashboard/invoices")
    assert (
        status == 200 and html.count('href="/dashboard/invoices/') - html.count('href="/dashboard/invoices/new"') == 25
    )
    assert "Older invoices" in html
    next_link = html.split('class="button" href="')[1].split('"')[0].replace("&amp;", "&")
    status, html = await me.get(next_link)
    assert f"/dashboard/invoices/{ids[0]}" in html and f"/dashboard/invoices/{ids[1]}" in html
    assert "Older invoices" not in html
    status, html = await me.get("/dashboard/invoices?q=PAYER%40example")
    assert f"/dashboard/invoices/{ids[0]}" in html and f"/dashboard/invoices/{ids[5]}" not in html
    status, html = await me.get(f"/dashboard/invoices?q={ids[7]}")
    assert f"/dashboard/invoices/{ids[7]}" in html and f"/dashboard/invoices/{ids[0]}" not in html
    status, html = await me.get("/dashboard/invoices?status=pending")
    assert f"/dashboard/invoices/{ids[0]}" in html and f"/dashboard/invoices/{ids[1]}" not in html
    status, html = await me.get("/dashboard/invoices?from=2000-01-01&to=2000-01-02")
    assert "No invoices match" in html
    status, html = await me.get("/dashboard/invoices?from=yesterday")
    assert status == 400 and "2026-01-31" in html
    async with me.session.get(f"{dash.base}/dashboard/invoices/statuses?ids={ids[0]},{ids[1]},junk") as resp:
        assert {k: v["status"] for k, v in (await resp.json()).items()} == {ids[0]: "pending", ids[1]: "created"}


async def test_settings_forms_change_what_the_api_reads(dash, clients):
    me = await _owner(dash, clients)
    token = dash.company["publicToken"]
    await me.get("/dashboard/settings")
    profile = {
        "name": "Tea & Co",
        "logoUrl": "",
        "redirectURL": "https://shop.example/back",
        "supportUrl": "",
        "supportEmail": "help@shop.example",
    }
    status, html = await me.post("/dashboard/settings/profile", profile)
    assert status == 200 and "Saved." in html
    _, settings = await dash.api.call("GET", "/api/company/settings", token=token)
    assert settings["name"] == "Tea & Co" and settings["supportEmail"] == "help@shop.example"
    assert settings["logoUrl"] is None
    status, html = await me.post("/dashboard/settings/limits", {"static_ltc": "0.001", "percent_ltc": "2"})
    assert status == 200
    _, limits = await dash.api.call("GET", "/api/company/underpayment-limits", token=token)
    assert limits["assets"]["ltc"] == {"static": "0.001", "percentage": "2"}
    status, html = await me.post("/dashboard/settings/limits", {"percent_ltc": "101"})
    assert status == 400 and "percentage" in html
    status, html = await me.post("/dashboard/settings/assets", {"asset_ltc": "on", "asset_eth": "on"})
    assert status == 400 and "wallet" in html  # no eth wallet: the service's rule
    status, html = await me.post("/dashboard/settings/assets", {"asset_ltc": "on"})  # btc unticked
    _, assets = await dash.api.call("GET", "/api/company/assets", token=token)
    allowed = {a["asset"] for a in assets["assets"] if a["isAllowed"]}
    assert allowed == {"ltc"}


async def test_webhook_url_and_test_event_are_delivered_by_the_sender(start_gateway, clients, pool):
    receiver = Receiver()
    await receiver.start()
    try:
        gw = await start_gateway(role="all", webhook_poll_seconds=0.5)
        me = await _owner(gw, clients)
        await me.get("/dashboard/settings")
        status, html = await me.post("/dashboard/settings/webhook", {"webHookUrl": receiver.url})
        assert status == 200 and receiver.url in html
        status, html = await me.post("/dashboard/settings/webhook/test", {})
        assert status == 200 and "Test event queued" in html
        await receiver.wait_for(lambda r: any(x.payload["type"] == "webhook.test" for x in r.delivered))
        made = await pool.fetchval("SELECT request_id FROM events WHERE type = 'webhook.test'")
        assert made and len(made) == 32  # the request's id, for the sender's log line, as on every other event
    finally:
        await receiver.stop()


async def test_wallet_form_stores_the_key_and_shows_its_first_five_addresses(dash, clients):
    me = await _owner(dash, clients)
    await dash.pool.execute("DELETE FROM company_wallets")
    await me.get("/dashboard/wallets")
    status, html = await me.post("/dashboard/wallets", {"chain": "litecoin", "key": "not a key"})
    assert status == 400
    status, html = await me.post("/dashboard/wallets", {"chain": "litecoin", "key": TPUB})
    assert status == 200 and "Wallet saved" in html
    for i in range(5):
        assert derive_address("litecoin", "regtest", TPUB, i) in html
    assert derive_address("litecoin", "regtest", TPUB, 5) not in html


async def test_rotating_keys_shows_them_once_and_the_api_follows(dash, clients):
    me = await _owner(dash, clients)
    old = dash.company["publicToken"]
    await me.get("/dashboard/keys")
    status, html = await me.post("/dashboard/keys/public-token", {})
    assert status == 200
    new = html.split('id="shown-value">')[1].split("<")[0]
    assert new.startswith("pk_") and new != old
    assert (await dash.api.call("GET", "/api/company/settings", token=old))[0] == 401
    assert (await dash.api.call("GET", "/api/company/settings", token=new))[0] == 200
    status, html = await me.post("/dashboard/keys/secret-key", {})
    assert status == 200 and 'id="shown-value">sk_' in html
    status, html = await me.get("/dashboard/keys")
    assert "shown-value" not in html


async def test_accepting_an_underpayment_writes_the_same_event_as_the_api(dash, clients):
    me = await _owner(dash, clients)
    inv = await dash.create_invoice()
    await dash.fill(inv["id"])
    await dash.add_deposit(inv["id"], 1000, 1, "wrong")
    status, html = await me.get(f"/dashboard/invoices/{inv['id']}")
    assert "Accept the underpayment" in html and "1 (confirmed)" in html
    status, html = await me.post(f"/dashboard/invoices/{inv['id']}/decide", {"decision": "accept"})
    assert status == 200
    types = await dash.pool.fetch("SELECT type FROM events WHERE invoice_id = $1 ORDER BY seq", uuid.UUID(inv["id"]))
    assert types[-1]["type"] == "invoice.done"
    status, html = await me.post(f"/dashboard/invoices/{inv['id']}/decide", {"decision": "accept"})
    assert status == 409 and "cannot accept" in html


async def test_deposits_not_credited_are_listed_and_can_be_dismissed_with_an_event(dash, clients):
    me = await _owner(dash, clients)
    inv = await dash.create_invoice()
    await dash.fill(inv["id"])
    await dash.add_deposit(inv["id"], 1000, 1, "pending")
    await dash.pool.execute("UPDATE deposits SET credited = false, reason = 'wrong_asset'")
    deposit_id = await dash.pool.fetchval("SELECT id FROM deposits")
    status, html = await me.get("/dashboard/deposits")
    assert status == 200 and "wrong_asset" in html and f"/dashboard/invoices/{inv['id']}" in html
    status, html = await me.post(f"/dashboard/deposits/{deposit_id}/dismiss", {})
    assert status == 200 and "Deposit dismissed." in html and "wrong_asset" not in html
    event = await dash.pool.fetchrow(
        "SELECT type, payload::jsonb -> 'deposit' ->> 'id' AS id FROM events ORDER BY seq DESC"
    )
    assert (event["type"], event["id"]) == ("deposit.dismissed", str(deposit_id))
    status, html = await me.post(f"/dashboard/deposits/{deposit_id}/dismiss", {})
    assert status == 409 and "already dismissed" in html
    _, listed = await dash.api.call("GET", "/api/company/deposits?credited=false", token=dash.company["publicToken"])
    assert [d["id"] for d in listed["items"]] == [str(deposit_id)]  # the API still lists it


async def test_a_credited_deposit_cannot_be_dismissed(dash, clients):
    me = await _owner(dash, clients)
    inv = await dash.create_invoice()
    await dash.fill(inv["id"])
    await dash.add_deposit(inv["id"], 1000, 1, "pending")
    deposit_id = await dash.pool.fetchval("SELECT id FROM deposits")
    await me.get("/dashboard/deposits")
    status, _ = await me.post(f"/dashboard/deposits/{deposit_id}/dismiss", {})
    assert status == 409
    status, _ = await me.post(f"/dashboard/deposits/{uuid.uuid4()}/dismiss", {})
    assert status == 404


async def test_a_deposit_not_credited_is_accepted_into_another_invoice_by_the_form_with_the_apis_events(dash, clients):
    me = await _owner(dash, clients)
    first = await dash.create_invoice()
    await dash.fill(first["id"])
    second = await dash.create_invoice()
    filled = await dash.fill(second["id"])
    units = int(Decimal(filled["paymentDetails"]["amount"]).scaleb(8))
    await dash.add_deposit(first["id"], units, 100, "pending")
    await dash.pool.execute("UPDATE deposits SET credited = false, reason = 'wrong_asset'")
    deposit_id = await dash.pool.fetchval("SELECT id FROM deposits")
    status, html = await me.get("/dashboard/deposits")
    assert status == 200 and f'action="/dashboard/deposits/{deposit_id}/accept"' in html

    status, html = await me.post(f"/dashboard/deposits/{deposit_id}/accept", {"invoice_id": "not an id"})
    assert status == 400 and "Enter the id of the invoice" in html
    status, html = await me.post(f"/dashboard/deposits/{deposit_id}/accept", {"invoice_id": str(uuid.uuid4())})
    assert status == 404 and "No invoice of yours" in html
    status, html = await me.post(f"/dashboard/deposits/{deposit_id}/accept", {}, csrf="forged")
    assert status == 403
    assert await dash.pool.fetchval("SELECT credited FROM deposits") is False

    status, html = await me.post(f"/dashboard/deposits/{deposit_id}/accept", {"invoice_id": second["id"]})
    assert status == 200 and f"Deposit accepted into invoice {second['id']}" in html
    assert "Every deposit was credited" in html
    view = await dash.view(second["id"])
    assert view["status"] == "done" and view["paymentDetails"]["remaining"] == "0"
    assert (await dash.view(first["id"]))["status"] == "pending"
    types = await dash.pool.fetch("SELECT type FROM events WHERE invoice_id = $1 ORDER BY seq", uuid.UUID(second["id"]))
    assert [t["type"] for t in types][-2:] == ["deposit.accepted", "invoice.done"]
    status, html = await me.post(f"/dashboard/deposits/{deposit_id}/accept", {"invoice_id": second["id"]})
    assert status == 409 and "already counts toward an invoice" in html
