"""Operations: /healthz, /readyz, X-Request-Id and JSON log lines."""

from __future__ import annotations

import json
import logging

import aiohttp
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.web.ops import REQUEST_ID, JsonFormatter
from tests.support import database


async def test_readyz_is_ready_on_a_migrated_database(api):
    assert await api.call("GET", "/readyz") == (200, {"status": "ready"})
    assert await api.call("GET", "/healthz") == (200, {"status": "ok"})


async def test_readyz_is_a_503_while_migrations_are_pending(pg_url, settings):
    name = await database.create_from_template(pg_url, "template0")
    try:
        server = TestServer(
            create_app(settings, dsn=database.with_database(pg_url, name), role="api"), host="127.0.0.1"
        )
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session, session.get(server.make_url("/readyz")) as resp:
                body = await resp.json()
        finally:
            await server.close()
    finally:
        await database.drop_database(pg_url, name)
    assert resp.status == 503
    assert body["error"]["code"] == "migrations_pending" and "0001_foundation" in body["error"]["message"]


async def test_a_request_id_is_taken_or_made_and_returned(api, company):
    async with api.session.get(f"{api.base}/readyz", headers={"X-Request-Id": "shop-42.a"}) as resp:
        assert resp.headers["X-Request-Id"] == "shop-42.a"
    async with api.session.get(f"{api.base}/api/company/settings", headers={"X-Request-Id": "bad id\u00e9"}) as resp:
        assert resp.status == 401
        made = resp.headers["X-Request-Id"]
    assert len(made) == 32 and made != "bad id"


def test_json_log_lines_carry_the_request_id():
    token = REQUEST_ID.set("r-1")
    try:
        record = logging.LogRecord("coinvoice.x", logging.INFO, __file__, 1, "filled %s", ("inv",), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["requestId"] == "r-1" and line["message"] == "filled inv" and line["level"] == "info"
    assert line["time"].endswith("Z")


async def test_metrics_show_invoices_deliveries_and_chain_cursors(api, company, db_url):
    from tests.api.invoice_setup import create_invoice, sql

    await create_invoice(api, company["publicToken"])
    await sql(
        db_url,
        "INSERT INTO chain_cursors (chain, height, hash, updated_at) VALUES ('litecoin', 7, 'h', now() - interval '90 seconds')",
    )
    async with api.session.get(f"{api.base}/metrics") as resp:
        text = await resp.text()
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(lines['coinvoice_invoices{status="created"}']) == 1
    assert float(lines['coinvoice_chain_cursor_height{chain="litecoin"}']) == 7
    assert float(lines['coinvoice_chain_cursor_age_seconds{chain="litecoin"}']) >= 89
    assert 'coinvoice_webhook_deliveries{state="failed"}' in lines
    assert "coinvoice_webhook_outbox_depth" in lines and "coinvoice_webhook_outbox_oldest_seconds" in lines
