"""Sign-in, sessions, CSRF, throttling and roles of the dashboard, over real HTTP against real PostgreSQL."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid

import pytest

from coinvoice.services import dashboard_users
from coinvoice.services.companies import create_company
from tests.dashboard.support import PASSWORD, add_user, csrf_of


async def test_owner_signs_in_with_a_session_cookie_that_is_httponly_and_lax(dash, clients):
    email = await add_user(dash)
    me = clients(dash)
    assert await me.sign_in(email) == 200
    assert "Invoices" in me.last_html and email in me.last_html
    cookie = me.cookie("coinvoice_session")
    assert cookie is not None and cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/dashboard"
    assert not cookie["secure"], "plain http in tests: Secure only when the public URL is https"
    stored = await dash.pool.fetchval("SELECT count(*) FROM dashboard_sessions")
    assert stored == 1


async def test_cookies_are_secure_when_the_public_url_is_https(start_gateway, clients):
    gw = await start_gateway(public_url="https://127.0.0.1:8443")  # behind a TLS proxy; never a public host
    email = await add_user(gw)
    me = clients(gw)
    async with me.session.get(gw.base + "/dashboard/sign-in") as resp:
        html = await resp.text()
        presession = resp.cookies["coinvoice_signin"]
    assert presession["secure"] and presession["httponly"]
    form = {"email": email, "password": PASSWORD, "csrf": csrf_of(html)}
    headers = {"Cookie": f"coinvoice_signin={presession.value}"}
    async with me.session.post(
        gw.base + "/dashboard/sign-in", data=form, headers=headers, allow_redirects=False
    ) as resp:
        assert resp.status == 303
        session = resp.cookies["coinvoice_session"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


async def test_signed_out_visitor_is_sent_to_sign_in(dash, clients):
    status, html = await clients(dash).get("/dashboard/invoices")
    assert status == 200 and "<h1>Sign in</h1>" in html


async def test_wrong_password_is_refused_and_the_account_is_throttled_after_five(dash, clients):
    email = await add_user(dash)
    me = clients(dash)
    for _ in range(dashboard_users.ACCOUNT_LIMIT):
        assert await me.sign_in(email, "wrong password!") == 401
    # now even the right password is refused: the throttle is checked before the password
    assert await me.sign_in(email, PASSWORD) == 429
    assert "Too many failed sign-ins" in me.last_html
    # the throttle lives in PostgreSQL: another client (another process would read the same rows) is refused too
    other = clients(dash)
    assert await other.sign_in(email, PASSWORD) == 429
    await dash.pool.execute("UPDATE dashboard_signin_failures SET failed_at = now() - interval '16 minutes'")
    assert await other.sign_in(email, PASSWORD) == 200


async def test_one_address_is_throttled_across_accounts(dash, clients):
    email = await add_user(dash)
    me = clients(dash)
    for i in range(dashboard_users.ADDRESS_LIMIT):
        assert await me.sign_in(f"nobody{i}@shop.example", "wrong password!") == 401
    assert await me.sign_in(email, PASSWORD) == 429


async def test_behind_a_trusted_proxy_the_throttle_counts_the_forwarded_client(start_gateway, clients):
    gw = await start_gateway(trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    email = await add_user(gw)
    me = clients(gw)
    # the proxy appends the client it saw; anything left of it is the client's own (forgeable) claim
    first = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    for i in range(dashboard_users.ADDRESS_LIMIT):
        assert await me.sign_in(f"nobody{i}@shop.example", "wrong password!", headers=first) == 401
    assert {r["ip"] for r in await gw.pool.fetch("SELECT ip FROM dashboard_signin_failures")} == {"203.0.113.7"}
    assert await me.sign_in(email, PASSWORD, headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}) == 429
    # another client behind the same proxy is not held back by the first one's failures
    other = clients(gw)
    assert await other.sign_in(email, PASSWORD, headers={"X-Forwarded-For": "203.0.113.8"}) == 200


async def test_an_untrusted_peers_forwarded_for_is_ignored(dash, clients):
    email = await add_user(dash)
    me = clients(dash)
    for i in range(dashboard_users.ADDRESS_LIMIT):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}"}  # a new "address" each time would dodge the throttle
        assert await me.sign_in(f"nobody{i}@shop.example", "wrong password!", headers=spoofed) == 401
    assert {r["ip"] for r in await dash.pool.fetch("SELECT ip FROM dashboard_signin_failures")} == {"127.0.0.1"}
    assert await me.sign_in(email, PASSWORD, headers={"X-Forwarded-For": "203.0.113.200"}) == 429


async def test_forms_without_the_csrf_token_are_refused(dash, clients):
    email = await add_user(dash)
    me = clients(dash)
    await me.get("/dashboard/sign-in")
    status, _ = await me.post("/dashboard/sign-in", {"email": email, "password": PASSWORD}, csrf=None)
    assert status == 403
    assert await me.sign_in(email) == 200
    await me.get("/dashboard/settings")
    for csrf in (None, "forged"):
        status, _ = await me.post("/dashboard/settings/profile", {"name": "Hijacked"}, csrf=csrf)
        assert status == 403
    status, _ = await me.post(
        "/dashboard/invoices/new", {"currency": "eur", "item_name": "X", "item_price": "1"}, csrf=None
    )
    assert status == 403
    assert await dash.pool.fetchval("SELECT name FROM companies WHERE id = $1", uuid.UUID(dash.company["id"])) != (
        "Hijacked"
    )
    assert await dash.pool.fetchval("SELECT count(*) FROM invoices") == 0


async def test_viewer_reads_but_the_server_refuses_every_change(dash, clients):
    inv = await dash.create_invoice()
    email = await add_user(dash, "viewer")
    viewer = clients(dash)
    assert await viewer.sign_in(email) == 200
    status, html = await viewer.get(f"/dashboard/invoices/{inv['id']}")
    assert status == 200 and "Coffee" in html
    csrf = await dash.pool.fetchval("SELECT csrf_token FROM dashboard_sessions")
    writes = [
        ("/dashboard/settings/profile", {"name": "Viewer was here"}),
        ("/dashboard/settings/webhook", {"webHookUrl": "https://hooks.example/x"}),
        ("/dashboard/settings/assets", {"asset_ltc": "on"}),
        ("/dashboard/settings/limits", {"static_ltc": "1"}),
        ("/dashboard/wallets", {"chain": "litecoin", "key": "x"}),
        ("/dashboard/keys/public-token", {}),
        ("/dashboard/keys/secret-key", {}),
        ("/dashboard/invoices/new", {"currency": "eur", "item_name": "X", "item_price": "1"}),
        (f"/dashboard/invoices/{inv['id']}/decide", {"decision": "accept"}),
        (f"/dashboard/deposits/{uuid.uuid4()}/dismiss", {}),
        (f"/dashboard/deposits/{uuid.uuid4()}/accept", {"invoice_id": inv["id"]}),
        ("/dashboard/users", {"email": "new@shop.example", "role": "owner"}),
        (f"/dashboard/users/{uuid.uuid4()}/role", {"role": "owner"}),
        (f"/dashboard/users/{uuid.uuid4()}/remove", {}),
        (f"/dashboard/invoices/{inv['id']}/deliveries/{uuid.uuid4()}/redeliver", {}),
    ]
    tokens_before = await dash.pool.fetchval("SELECT count(*) FROM api_tokens")
    for path, data in writes:
        status, html = await viewer.post(path, data, csrf=csrf)
        assert status == 403, path
        assert "viewer" in html
    assert await dash.pool.fetchval("SELECT count(*) FROM api_tokens") == tokens_before
    assert await dash.pool.fetchval("SELECT count(*) FROM invoices") == 1
    assert await dash.pool.fetchval("SELECT name FROM companies WHERE id = $1", uuid.UUID(dash.company["id"])) == (
        "Coffee & Co <b>"
    )


async def test_another_companys_invoice_is_not_found(dash, clients, settings):
    other = await create_company(dash.pool, settings, "Other shop", None, None)
    email = await add_user(dash, company_id=other["id"])
    theirs = await dash.create_invoice()  # belongs to the gateway's company, not the user's
    me = clients(dash)
    await me.sign_in(email)
    status, html = await me.get(f"/dashboard/invoices/{theirs['id']}")
    assert status == 404 and "Coffee" not in html
    assert (await me.get("/dashboard/invoices/not-a-uuid"))[0] == 404
    status, html = await me.get(f"/dashboard/invoices?q={theirs['id']}")
    assert status == 200 and "No invoices match" in html and f"/dashboard/invoices/{theirs['id']}" not in html
    async with me.session.get(f"{dash.base}/dashboard/invoices/statuses?ids={theirs['id']}") as resp:
        assert await resp.json() == {}


async def test_sign_out_everywhere_ends_every_session_of_the_user(dash, clients):
    email = await add_user(dash)
    laptop, phone = clients(dash), clients(dash)
    await laptop.sign_in(email)
    await phone.sign_in(email)
    await laptop.get("/dashboard/invoices")
    await laptop.post("/dashboard/sign-out-everywhere", {})
    for client in (laptop, phone):
        _status, html = await client.get("/dashboard/invoices")
        assert "<h1>Sign in</h1>" in html
    assert await dash.pool.fetchval("SELECT count(*) FROM dashboard_sessions") == 0


async def test_one_time_link_signs_in_once_and_lets_the_user_set_a_password(dash, clients):
    created = await dashboard_users.create_user(
        dash.pool, uuid.UUID(dash.company["id"]), "New@Shop.example", "owner", None
    )
    assert created["email"] == "new@shop.example"
    link = f"/dashboard/link/{created['signInToken']}"
    me = clients(dash)
    status, html = await me.get(link)
    assert status == 200 and "Sign in with your link" in html
    status, html = await me.post(link, {})
    assert status == 200 and "Set your password" in html
    status, html = await me.post("/dashboard/password", {"password": "a new long password"})
    assert status == 200 and "Your password is set" in html
    again = clients(dash)
    await again.get(link)
    assert (await again.post(link, {}))[0] == 410
    assert await again.sign_in("new@shop.example", "a new long password") == 200


async def test_sessions_expire(dash, clients):
    email = await add_user(dash)
    me = clients(dash)
    await me.sign_in(email)
    await dash.pool.execute("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second'")
    _status, html = await me.get("/dashboard/invoices")
    assert "<h1>Sign in</h1>" in html


async def test_concurrent_wrong_passwords_cannot_slip_past_the_account_limit(dash):
    email = await add_user(dash)
    tries = [dashboard_users.sign_in(dash.pool, email, f"wrong {i} password", "10.0.0.1") for i in range(12)]
    outcomes = await asyncio.gather(*tries, return_exceptions=True)
    checked = [o for o in outcomes if o is None]  # the password was verified (and wrong)
    throttled = [o for o in outcomes if isinstance(o, dashboard_users.Throttled)]
    assert len(checked) <= dashboard_users.ACCOUNT_LIMIT and len(checked) + len(throttled) == 12
    for _ in range(dashboard_users.ACCOUNT_LIMIT - len(checked)):  # refused tries did not count: the rest may try
        assert await dashboard_users.sign_in(dash.pool, email, "still wrong!", "10.0.0.2") is None
    with pytest.raises(dashboard_users.Throttled):
        await dashboard_users.sign_in(dash.pool, email, PASSWORD, "10.0.0.2")
