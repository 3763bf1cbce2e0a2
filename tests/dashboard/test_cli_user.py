"""`coinvoice user create` as a subprocess: a password user signs in; a link user gets a one-time link."""

from __future__ import annotations

import json
import uuid

from coinvoice.services import dashboard_users
from tests.api.test_cli import run_cli
from tests.dashboard.support import PASSWORD


async def test_user_create_with_a_password_stores_an_argon2id_hash_that_signs_in(dash, db_url, tmp_path):
    code, out, err = await run_cli(
        db_url, tmp_path, "user", "create", "--company", dash.company["id"], "--email", "Shop@Owner.example",
        "--password", PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    created = json.loads(out.strip().splitlines()[-1])
    assert created["email"] == "shop@owner.example" and created["role"] == "owner" and "signInLink" not in created
    stored = await dash.pool.fetchval("SELECT password_hash FROM dashboard_users")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    session = await dashboard_users.sign_in(dash.pool, "shop@owner.example", PASSWORD, "127.0.0.1")
    assert session is not None and session[1].company_id == uuid.UUID(dash.company["id"])


async def test_user_create_without_a_password_prints_a_one_time_link(dash, db_url, tmp_path):
    code, out, err = await run_cli(
        db_url, tmp_path, "user", "create", "--company", dash.company["id"], "--email", "viewer@shop.example",
        "--role", "viewer", COINVOICE_PUBLIC_URL="http://127.0.0.1:8080",
    )  # fmt: skip
    assert code == 0, err
    created = json.loads(out.strip().splitlines()[-1])
    assert created["role"] == "viewer"
    assert created["signInLink"].startswith("http://127.0.0.1:8080/dashboard/link/")
    token = created["signInLink"].rsplit("/", 1)[1]
    assert await dashboard_users.sign_in_with_link(dash.pool, token) is not None
    assert await dashboard_users.sign_in_with_link(dash.pool, token) is None
    code, out, err = await run_cli(db_url, tmp_path, "user", "link", "--email", "Viewer@shop.example")
    assert code == 0, err
    again = json.loads(out.strip().splitlines()[-1])["signInLink"].rsplit("/", 1)[1]
    assert again != token and await dashboard_users.sign_in_with_link(dash.pool, again) is not None
    code, _, err = await run_cli(db_url, tmp_path, "user", "link", "--email", "nobody@shop.example")
    assert code == 1 and "user_not_found" in err


async def test_user_create_refuses_bad_input_with_a_clear_message(dash, db_url, tmp_path):
    company = ("--company", dash.company["id"])
    cases = [
        (("--email", "not-an-email", "--password", PASSWORD), "invalid_email"),
        (("--email", "a@shop.example", "--password", "short"), "weak_password"),
    ]
    for args, code_text in cases:
        code, _, err = await run_cli(db_url, tmp_path, "user", "create", *company, *args)
        assert code == 1 and code_text in err
    await run_cli(db_url, tmp_path, "user", "create", *company, "--email", "b@shop.example", "--password", PASSWORD)
    code, _, err = await run_cli(db_url, tmp_path, "user", "create", *company, "--email", "B@shop.example")
    assert code == 1 and "email_in_use" in err
    code, _, err = await run_cli(
        db_url, tmp_path, "user", "create", "--company", str(uuid.uuid4()), "--email", "c@shop.example"
    )
    assert code == 1 and "company_not_found" in err
    assert await dash.pool.fetchval("SELECT count(*) FROM dashboard_users") == 1
