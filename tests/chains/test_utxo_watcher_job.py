"""The litecoin watcher runs as a scheduled job inside the app when COINVOICE_LTC_RPC_URL is set."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import aiohttp
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.appkeys import JOBS
from coinvoice.workers.chain_jobs import utxo_watcher_jobs
from tests.chains.watch_support import accept_litecoin, address_of, due, ltc_invoice, watch_settings
from tests.conftest import Api


async def _wait_for_status(api: Api, invoice_id: str, status: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        code, view = await api.call("GET", f"/api/invoices/v1/regular/{invoice_id}")
        assert code == 200, view
        if view["status"] == status or time.monotonic() > deadline:
            return view
        await asyncio.sleep(0.05)


async def test_scheduled_watcher_job_moves_a_paid_invoice_inside_the_app(
    api, company, pool, db_url, settings, litecoind
):
    ltc = watch_settings(settings, litecoind)
    ltc = replace(ltc, chains={**ltc.chains, "litecoin": replace(ltc.chain("litecoin"), poll_seconds=0.2)})
    await accept_litecoin(api, company, pool)
    view = await ltc_invoice(api, company)

    app = create_app(ltc, dsn=db_url, role="all")
    assert [job.name for job in app[JOBS] if job.name.startswith("watch-")] == ["watch-litecoin"]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            worker_api = Api(server, session)
            await asyncio.sleep(0.5)  # the first round sets the cursor
            litecoind.send(address_of(view), due(view))
            assert (await _wait_for_status(worker_api, view["id"], "processing", 5))["status"] == "processing"
            litecoind.mine(1)
            assert (await _wait_for_status(worker_api, view["id"], "done", 5))["status"] == "done"
    finally:
        await server.close()
    leaders = await pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    assert leaders == 0  # shutdown gave the chain up


def test_no_watcher_job_for_a_chain_without_an_rpc_url(settings):
    app = create_app(settings, role="worker")
    assert utxo_watcher_jobs(app) == []
    assert not [job for job in app[JOBS] if job.name.startswith("watch-")]
