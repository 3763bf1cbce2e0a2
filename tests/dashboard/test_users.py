"""Managing users from the dashboard (owners only): invite with a one-time link, change role, remove; the last
owner stays. Over real HTTP against real PostgreSQL."""

from __future__ import annotations

import re
import uuid
from html import unescape

from coinvoice.appkeys import SETTINGS
from coinvoice.services.companies import create_company
from tests.dashboard.support import add_user

LINK = re.compile(r'id="invite-link">([^<]+)<')


async def _owner(dash, clients):
    email = await add_user(dash)
    me = clients(dash)
    assert await me.sign_in(email) == 200
    return me, email


async def _user_id(dash, email: str) -> str:
    return str(await dash.pool.fetchval("SELECT id FROM dashboard_users WHERE email = $1", email))


async def test_an_owner_invites_a_viewer_whose_one_time_link_signs_them_in(dash, clients):
    me, owner = await _owner(dash, clients)
    status, html = await me.get("/dashboard/users")
    assert status == 200 and owner in html and "(you)" in html
    status, html = await me.post("/dashboard/users", {"email": " New.Viewer@Shop.example ", "role": "viewer"})
    assert status == 200 and "new.viewer@shop.example (viewer)" in html
    link = unescape(LINK.search(html).group(1))
    public = dash.app[SETTINGS].public_url  # the link names the gateway's public URL, as the CLI's does
    assert link.startswith(f"{public}/dashboard/link/")
    row = await dash.pool.fetchrow(
        "SELECT role, company_id, password_hash FROM dashboard_users WHERE email = $1", "new.viewer@shop.example"
    )
    assert (row["role"], str(row["company_id"]), row["password_hash"]) == ("viewer", dash.company["id"], None)
    assert (await me.get("/dashboard/users"))[1].count("/dashboard/link/") == 0  # shown once only

    invited = clients(dash)
    path = link.removeprefix(public)
    await invited.get(path)
    status, html = await invited.post(path, {})
    assert status == 200 and "new.viewer@shop.example (viewer)" in html
    assert (await invited.get("/dashboard/users"))[0] == 403  # a viewer does not manage users

    status, html = await me.post("/dashboard/users", {"email": "new.viewer@shop.example", "role": "owner"})
    assert status == 409 and "exists" in html
    for bad in ({"email": "not an email", "role": "viewer"}, {"email": "x@shop.example", "role": "admin"}):
        status, html = await me.post("/dashboard/users", bad)
        assert status == 400
    assert await dash.pool.fetchval("SELECT count(*) FROM dashboard_users") == 2


async def test_roles_change_and_the_last_owner_can_be_neither_demoted_nor_removed(dash, clients):
    me, owner = await _owner(dash, clients)
    owner_id = await _user_id(dash, owner)
    status, html = await me.get("/dashboard/users")
    for path, data in (
        (f"/dashboard/users/{owner_id}/role", {"role": "viewer"}),
        (f"/dashboard/users/{owner_id}/remove", {}),
    ):
        status, html = await me.post(path, data)
        assert status == 409 and "last owner" in html
    assert await dash.pool.fetchval("SELECT role FROM dashboard_users WHERE id = $1", uuid.UUID(owner_id)) == "owner"

    other = await add_user(dash, "viewer")
    other_id = await _user_id(dash, other)
    status, html = await me.post(f"/dashboard/users/{other_id}/role", {"role": "owner"})
    assert status == 200 and "Role changed." in html
    status, html = await me.post(f"/dashboard/users/{other_id}/role", {"role": "admin"})
    assert status == 400
    # with a second owner, the first may step down (effective at once: the next page refuses them)
    status, html = await me.post(f"/dashboard/users/{owner_id}/role", {"role": "viewer"})
    assert status == 403 and "Only an owner manages users" in html
    roles = {r["email"]: r["role"] for r in await dash.pool.fetch("SELECT email, role FROM dashboard_users")}
    assert roles == {owner: "viewer", other: "owner"}


async def test_removing_a_user_ends_their_sessions(dash, clients):
    me, _ = await _owner(dash, clients)
    viewer = await add_user(dash, "viewer")
    them = clients(dash)
    assert await them.sign_in(viewer) == 200
    viewer_id = await _user_id(dash, viewer)
    await me.get("/dashboard/users")
    status, html = await me.post(f"/dashboard/users/{viewer_id}/remove", {})
    assert status == 200 and "User removed" in html and viewer not in html
    assert await dash.pool.fetchval("SELECT count(*) FROM dashboard_users WHERE email = $1", viewer) == 0
    status, html = await them.get("/dashboard/invoices")
    assert "<h1>Sign in</h1>" in html  # their session is gone
    assert (await me.post(f"/dashboard/users/{viewer_id}/remove", {}))[0] == 404


async def test_another_companys_user_is_not_found_and_forms_need_the_csrf_token(dash, clients, settings):
    me, _ = await _owner(dash, clients)
    other = await create_company(dash.pool, settings, "Other shop", None, None)
    theirs = await add_user(dash, company_id=other["id"])
    theirs_id = await _user_id(dash, theirs)
    status, html = await me.get("/dashboard/users")
    assert theirs not in html
    for path, data in (
        (f"/dashboard/users/{theirs_id}/role", {"role": "viewer"}),
        (f"/dashboard/users/{theirs_id}/remove", {}),
    ):
        assert (await me.post(path, data))[0] == 404
    assert (await me.post("/dashboard/users/not-a-uuid/remove", {}))[0] == 404
    status, _ = await me.post("/dashboard/users", {"email": "csrf@shop.example", "role": "owner"}, csrf=None)
    assert status == 403
    assert await dash.pool.fetchval("SELECT role FROM dashboard_users WHERE email = $1", theirs) == "owner"
    assert await dash.pool.fetchval("SELECT count(*) FROM dashboard_users WHERE email = 'csrf@shop.example'") == 0
