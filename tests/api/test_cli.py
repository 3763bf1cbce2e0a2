"""The coinvoice command line, run as a subprocess against the test database: migrate, company create."""

import asyncio
import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from coinvoice.db.migrate import migration_files
from coinvoice.services.tokens import secret_key_from_salt
from tests.api.invoice_setup import CREATE, SEED_BODY, sql
from tests.support import database

COINVOICE = Path(sys.executable).with_name("coinvoice")
MASTER_KEY = "cli-test-master-key"


async def run_cli(db_url: str, data_dir: Path, *args: str, **extra_env: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COINVOICE_")}
    env.update(DATABASE_URL=db_url, COINVOICE_DATA_DIR=str(data_dir), COINVOICE_MASTER_KEY=MASTER_KEY, **extra_env)
    proc = await asyncio.create_subprocess_exec(
        str(COINVOICE), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def empty_db_url(pg_url):
    name = f"cv_empty_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield database.with_database(pg_url, name)
    await database.drop_database(pg_url, name)


def test_the_console_script_is_installed():
    assert COINVOICE.exists(), COINVOICE


async def test_migrate_applies_every_migration_once_in_order(empty_db_url, tmp_path):
    code, out, err = await run_cli(empty_db_url, tmp_path, "migrate")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"applied": [p.stem for p in migration_files()]}
    tables = {
        r["tablename"] for r in await sql(empty_db_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert {"companies", "api_tokens", "invoices", "quotes", "addresses", "deposits", "events"} <= tables
    code, out, err = await run_cli(empty_db_url, tmp_path, "migrate")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"applied": []}


async def test_company_create_prints_its_tokens_once_and_stores_only_hashes(api, db_url, tmp_path):
    code, out, err = await run_cli(
        db_url,
        tmp_path,
        "company",
        "create",
        "--name",
        "CLI Shop",
        "--logo-url",
        "https://cli.example/logo.png",
        "--redirect-url",
        "https://cli.example/thanks",
    )
    assert code == 0, err
    created = json.loads(out.strip().splitlines()[-1])
    assert set(created) == {"id", "publicToken", "secretKey"}
    public, secret = created["publicToken"], created["secretKey"]
    assert public != secret and len(public) >= 32 and len(secret) >= 32

    company = (await sql(db_url, "SELECT * FROM companies WHERE id = $1", uuid.UUID(created["id"])))[0]
    assert (company["name"], company["logo_url"], company["redirect_url"]) == (
        "CLI Shop",
        "https://cli.example/logo.png",
        "https://cli.example/thanks",
    )
    tokens = await sql(db_url, "SELECT kind, token_hash, key_salt, t::text AS whole FROM api_tokens t")
    by_kind = {r["kind"]: r for r in tokens}
    assert set(by_kind) == {"public", "secret"}
    assert bytes(by_kind["public"]["token_hash"]) == hashlib.sha256(public.encode()).digest()
    assert bytes(by_kind["secret"]["token_hash"]) == hashlib.sha256(secret.encode()).digest()
    for row in tokens:  # neither raw token appears anywhere in the table
        assert public not in row["whole"] and secret not in row["whole"]
        assert public.encode().hex() not in row["whole"] and secret.encode().hex() not in row["whole"]
    # the secret key is re-derivable from the server's master key and the stored salt, and only from them
    assert secret_key_from_salt(MASTER_KEY.encode(), bytes(by_kind["secret"]["key_salt"])) == secret

    status, view = await api.call("POST", CREATE, token=public, json_body={**SEED_BODY, "redirectURL": None})
    assert status == 201, view
    assert view["company"]["name"] == "CLI Shop"
    assert view["redirectURL"] == "https://cli.example/thanks"


async def test_two_companies_get_different_tokens(db_url, tmp_path):
    outs = [await run_cli(db_url, tmp_path, "company", "create", "--name", n) for n in ("A", "B")]
    a, b = (json.loads(out.strip().splitlines()[-1]) for _, out, _ in outs)
    assert len({a["id"], b["id"]}) == 2
    assert len({a["publicToken"], b["publicToken"], a["secretKey"], b["secretKey"]}) == 4


async def test_company_create_needs_a_name(db_url, tmp_path):
    code, _, err = await run_cli(db_url, tmp_path, "company", "create")
    assert code == 2
    assert "--name" in err


async def test_a_bad_setting_stops_the_cli_with_a_message_naming_the_variable(db_url, tmp_path):
    code, _, err = await run_cli(db_url, tmp_path, "migrate", COINVOICE_FIXED_RATES='{"eur/ltc": ')
    assert code == 2
    assert "COINVOICE_FIXED_RATES" in err
    assert "Traceback" not in err


async def test_rotate_token_revokes_the_old_public_token_and_prints_a_working_new_one(api, db_url, tmp_path):
    _, out, _ = await run_cli(db_url, tmp_path, "company", "create", "--name", "Rotating")
    created = json.loads(out.strip().splitlines()[-1])
    code, out, err = await run_cli(db_url, tmp_path, "company", "rotate-token", "--id", created["id"])
    assert code == 0, err
    rotated = json.loads(out.strip().splitlines()[-1])
    assert rotated["id"] == created["id"] and rotated["publicToken"] != created["publicToken"]
    old_status = None
    for _ in range(50):  # another process: the API's cache drops the old token on the NOTIFY
        old_status, _ = await api.call("GET", "/api/company/assets", token=created["publicToken"])
        if old_status == 401:
            break
        await asyncio.sleep(0.02)
    assert old_status == 401
    status, _ = await api.call("GET", "/api/company/assets", token=rotated["publicToken"])
    assert status == 200


async def test_rotate_token_of_an_unknown_company_fails_cleanly(db_url, tmp_path):
    code, _, err = await run_cli(db_url, tmp_path, "company", "rotate-token", "--id", str(uuid.uuid4()))
    assert code == 1 and "company_not_found" in err and "Traceback" not in err
