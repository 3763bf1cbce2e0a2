"""One merchant's dead endpoint does not hold up another's deliveries; delivered rows leave after retention."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiohttp import web

from coinvoice.services.companies import create_company
from coinvoice.webhooks.worker import delete_expired_deliveries
from tests.api.invoice_setup import create_invoice, sql
from tests.webhooks.test_delivery import _all_delivered


class HangingEndpoint:
    """A merchant endpoint on 127.0.0.1 that accepts connections and never answers (until the test ends)."""

    def __init__(self) -> None:
        self.hanging = 0
        self.most_at_once = 0
        self.release = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.hanging += 1
        self.most_at_once = max(self.most_at_once, self.hanging)
        try:
            await self.release.wait()
        finally:
            self.hanging -= 1
        return web.Response(text="late")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        self.release.set()
        if self.runner:
            await self.runner.cleanup()


async def _merchant(api, pool, settings, name: str, url: str) -> str:
    company = await create_company(pool, settings, name, None, None)
    token = company["publicToken"]
    status, body = await api.call(
        "PUT", "/api/company/settings/webhook-url", token=token, json_body={"webHookUrl": url}
    )
    assert status == 200, body
    return token


async def test_a_dead_endpoint_holds_at_most_its_share_and_other_merchants_are_delivered_before_it_times_out(
    api, pool, settings, fast_settings, receiver, db_url, start_worker
):
    dead = HangingEndpoint()
    await dead.start()
    try:
        slow_token = await _merchant(api, pool, settings, "Slow", dead.url)
        fine_token = await _merchant(api, pool, settings, "Fine", receiver.url)
        for _ in range(12):  # more deliveries than the sender has slots
            await create_invoice(api, slow_token)
        # four slots in all, two per endpoint; the dead endpoint's requests time out only after 30 s
        tight = replace(
            fast_settings, webhook_concurrency=4, webhook_endpoint_concurrency=2, webhook_timeout_seconds=30.0
        )
        await start_worker(tight)
        for _ in range(200):
            if dead.hanging == 2:
                break
            await asyncio.sleep(0.05)
        assert dead.hanging == 2  # it holds its share of the slots, and no more
        fine = [await create_invoice(api, fine_token) for _ in range(6)]

        await receiver.wait_for(lambda r: len(r.delivered) >= len(fine), within=20.0)
        # every one of the other merchant's deliveries arrived while the dead endpoint's first requests were
        # still waiting for their timeout: none of its attempts has ended yet
        assert {r.payload["invoiceId"] for r in receiver.delivered} == {v["id"] for v in fine}
        assert dead.most_at_once == 2
        ended = await sql(
            db_url,
            "SELECT count(*) AS n FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
            " JOIN companies c ON c.id = d.company_id WHERE c.name = 'Slow'",
        )
        assert ended[0]["n"] == 0
    finally:
        await dead.stop()


async def test_delivered_rows_older_than_the_retention_are_deleted_with_their_attempts(
    api, hooked, receiver, pool, fast_settings, db_url, start_worker
):
    token = hooked["publicToken"]
    views = [await create_invoice(api, token) for _ in range(3)]
    worker = await start_worker()
    await _all_delivered(db_url, receiver)
    await worker.cleanup()
    waiting = uuid.UUID((await create_invoice(api, token))["id"])  # no sender: its delivery stays pending
    old, recent = [uuid.UUID(v["id"]) for v in views[:2]], uuid.UUID(views[2]["id"])
    await sql(
        db_url,
        "UPDATE webhook_deliveries SET delivered_at = $2 WHERE invoice_id = ANY($1::uuid[])",
        old,
        datetime.now(UTC) - timedelta(days=31),
    )
    await sql(db_url, "UPDATE webhook_deliveries SET created_at = $1", datetime.now(UTC) - timedelta(days=90))

    deleted = await delete_expired_deliveries(pool, replace(fast_settings, webhook_retention_days=30))

    assert deleted == 2
    left = await sql(db_url, "SELECT invoice_id, state FROM webhook_deliveries")
    assert {(r["invoice_id"], r["state"]) for r in left} == {(recent, "delivered"), (waiting, "pending")}
    attempts = await sql(
        db_url, "SELECT DISTINCT d.invoice_id FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
    )
    assert [r["invoice_id"] for r in attempts] == [recent]
    orphans = await sql(
        db_url,
        "SELECT count(*) AS n FROM webhook_attempts a"
        " WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.delivery_id)",
    )
    assert orphans[0]["n"] == 0
