"""A database outage under load: PostgreSQL unreachable (a proxy in front of it is cut) for a while, with clients
creating and reading invoices and a payment arriving on litecoind meanwhile. The API answers 503 JSON fast, /healthz
stays alive and /readyz says not ready, the process logs the outage once and its end once, and afterwards every
idempotent create exists exactly once, the payment is credited and every webhook event is delivered in order."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import aiohttp

from coinvoice.services.companies import create_company
from tests.chains.watch_support import accept_litecoin, address_of, due, ltc_invoice, view_of
from tests.conftest import TEST_ENV
from tests.support.processes import GatewayProcess, ProcessApi
from tests.support.tcp_proxy import TcpProxy
from tests.webhooks.helpers import delivered_by_invoice, events_by_invoice
from tests.webhooks.receiver import Receiver

OUTAGE_SECONDS = 10.0
CLIENTS = 6
CREATE = "/api/invoices/v1/regular"


async def _load(api: ProcessApi, token: str, known_id: str, stop: asyncio.Event, results: list, keys: list) -> None:
    """Until ``stop``: creates with an Idempotency-Key (retried until they succeed) and reads, one at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    n = 0
    while not stop.is_set():
        n += 1
        if n % 3:
            path, method, body, hdrs = f"{CREATE}/{known_id}", "GET", None, {}
        else:
            key = uuid.uuid4().hex
            keys.append(key)
            path, method = CREATE, "POST"
            body = {"invoiceCurrency": "eur", "items": [{"name": "Tea", "price": "3.5"}]}
            hdrs = {**headers, "Idempotency-Key": key}
        while True:  # a create is retried with its key until it is answered; a read is not
            started = time.monotonic()
            status, reply = await api.call(method, path, json_body=body, headers=hdrs)
            results.append((status, reply, time.monotonic() - started))
            if status != 503 or method == "GET":
                break
            await asyncio.sleep(0.2)


async def test_an_outage_under_load_is_503_then_everything_resumes_with_nothing_lost(
    litecoind, db_url, pool, settings, tmp_path
):
    proxy = TcpProxy.for_url(db_url)
    await proxy.restore()
    receiver = Receiver()
    await receiver.start()
    env = {
        **TEST_ENV,
        "DATABASE_URL": proxy.url_through(db_url),
        "COINVOICE_DATA_DIR": str(tmp_path),
        "COINVOICE_LTC_RPC_URL": litecoind.rpc_url,
        "COINVOICE_LTC_POLL_SECONDS": "0.5",
        "COINVOICE_WEBHOOK_RETRY_BASE_SECONDS": "1",
    }
    gateway = GatewayProcess(env, tmp_path / "gateway.log", role="all")
    gateway.start()
    try:
        await gateway.wait_ready()
        company = await create_company(pool, settings, "Shop", None, None)
        token = company["publicToken"]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            api = ProcessApi(gateway.base, session)
            await accept_litecoin(api, company, pool)
            status, body = await api.call(
                "PUT", "/api/company/settings/webhook-url", token=token, json_body={"webHookUrl": receiver.url}
            )
            assert status == 200, body
            paid = await ltc_invoice(api, company)
            results: list = []
            keys: list[str] = []
            stop = asyncio.Event()
            clients = [asyncio.create_task(_load(api, token, paid["id"], stop, results, keys)) for _ in range(CLIENTS)]
            await asyncio.sleep(3)

            await proxy.cut()
            cut_at = time.monotonic()
            await asyncio.to_thread(litecoind.send, address_of(paid), due(paid))
            await asyncio.to_thread(litecoind.mine, 1)
            await asyncio.sleep(2)
            assert await api.call("GET", "/healthz") == (200, {"status": "ok"})
            status, ready = await api.call("GET", "/readyz")
            assert status == 503 and ready["error"]["code"] == "database_unavailable", ready
            await asyncio.sleep(OUTAGE_SECONDS - (time.monotonic() - cut_at))
            await proxy.restore()

            await asyncio.sleep(5)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*clients), 60)
            assert (await api.call("GET", "/readyz"))[0] == 200
            for _ in range(60):
                if (await view_of(api, paid["id"]))["status"] == "done":
                    break
                await asyncio.sleep(0.5)
            else:
                raise AssertionError(f"the payment made during the outage was not credited\n{gateway.log_text()}")

        statuses = Counter(status for status, _, _ in results)
        unavailable = [reply for status, reply, _ in results if status == 503]
        slowest = max(seconds for _, _, seconds in results)
        print(
            f"\noutage of {OUTAGE_SECONDS:.0f} s under load: {len(results)} requests, statuses {dict(statuses)},"
            f" slowest {slowest:.2f} s"
        )
        assert set(statuses) <= {200, 201, 503}, statuses
        assert statuses[503] > 0 and statuses[200] > 0 and statuses[201] > 0, statuses
        assert all(isinstance(r, dict) and r["error"]["code"] == "database_unavailable" for r in unavailable)
        assert slowest < 6.0  # the connect timeout bounds a request; nothing hangs

        rows = await pool.fetch(
            "SELECT idempotency_key FROM invoices WHERE company_id = $1 AND idempotency_key IS NOT NULL",
            uuid.UUID(company["id"]),
        )
        assert sorted(r["idempotency_key"] for r in rows) == sorted(keys)  # each key created once, none lost
        deposits = await pool.fetchval("SELECT count(*) FROM deposits WHERE invoice_id = $1", uuid.UUID(paid["id"]))
        assert deposits == 1

        events = events_by_invoice(db_url)
        expected = await events
        await receiver.wait_for(lambda r: delivered_by_invoice(r) == expected, within=60)

        log = gateway.log_text()
        assert log.count("database unavailable (") == 1, log[-5000:]
        assert log.count("database reachable again after") == 1, log[-5000:]
        assert "Traceback" not in log, log[-5000:]
    finally:
        await gateway.stop()
        await receiver.stop()
        await proxy.cut()
