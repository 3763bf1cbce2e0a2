"""`coinvoice serve --role api --processes 2` as a real process tree: a child killed with SIGKILL is restarted
while requests keep being answered, and SIGTERM stops everything cleanly after the in-flight request."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import aiohttp
import asyncpg

from coinvoice.services.companies import create_company
from tests.conftest import TEST_ENV
from tests.support.processes import GatewayProcess

CREATE = "/api/invoices/v1/regular"
BODY = {"invoiceCurrency": "eur", "items": [{"name": "Coffee", "price": "10"}]}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _api_gateway(db_url: str, tmp_path) -> GatewayProcess:
    env = {**TEST_ENV, "DATABASE_URL": db_url, "COINVOICE_DATA_DIR": str(tmp_path)}
    gateway = GatewayProcess(env, tmp_path / "gateway.log", role="api", processes=2)
    gateway.start()
    await gateway.wait_ready()
    return gateway


async def _invoice(session: aiohttp.ClientSession, gateway: GatewayProcess, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(gateway.base + CREATE, json=BODY, headers=headers) as r:
        assert r.status == 201, await r.text()
        return (await r.json())["id"]


async def test_a_killed_api_process_is_restarted_and_requests_keep_succeeding(db_url, pool, settings, tmp_path):
    token = (await create_company(pool, settings, "Shop", None, None))["publicToken"]
    gateway = await _api_gateway(db_url, tmp_path)
    try:
        children = gateway.children()
        assert len(children) == 2, gateway.log_text()
        statuses: list[int] = []
        refused = 0
        stop = asyncio.Event()
        # a new connection per request: the kernel spreads them over both children
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            invoice_id = await _invoice(session, gateway, token)

            async def load() -> None:
                nonlocal refused
                while not stop.is_set():
                    try:
                        async with session.get(f"{gateway.base}{CREATE}/{invoice_id}") as r:
                            statuses.append(r.status)
                            await r.read()
                    except aiohttp.ClientConnectionError:  # a connection the killed child had accepted
                        refused += 1

            loaders = [asyncio.create_task(load()) for _ in range(4)]
            await asyncio.sleep(0.5)
            os.kill(children[0], 9)
            for _ in range(100):
                now = gateway.children()
                if len(now) == 2 and children[0] not in now:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"no replacement child: {gateway.children()}\n{gateway.log_text()}")
            for _ in range(200):  # until the replacement listens too
                if gateway.log_text().count("listening on") >= 3:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the replacement never listened\n{gateway.log_text()}")
            before = len(statuses)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*loaders)
            after_restart = statuses[before:]
        assert children[1] in gateway.children()  # the other child was left alone
        assert set(statuses) == {200}, statuses
        assert len(after_restart) > 20 and set(after_restart) == {200}
        assert refused <= 4, refused  # at most the requests in flight on the killed child
        assert "exited with signal 9; restarting in 0.5 s" in gateway.log_text()
    finally:
        assert await gateway.stop() == 0, gateway.log_text()[-3000:]


async def test_sigterm_finishes_the_in_flight_request_and_every_process_exits_0(db_url, pool, settings, tmp_path):
    token = (await create_company(pool, settings, "Shop", None, None))["publicToken"]
    gateway = await _api_gateway(db_url, tmp_path)
    children = gateway.children()
    async with aiohttp.ClientSession() as session:
        invoice_id = await _invoice(session, gateway, token)
        blocker = await asyncpg.connect(db_url)
        try:
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE")  # the next GET waits on it
            slow = asyncio.create_task(session.get(f"{gateway.base}{CREATE}/{invoice_id}"))
            await asyncio.sleep(0.5)
            assert not slow.done()
            stopping = asyncio.create_task(gateway.stop())
            await asyncio.sleep(1.0)
            assert not stopping.done() and not slow.done()  # shutdown waits for the request
            await tx.rollback()
        finally:
            await blocker.close()
        response = await asyncio.wait_for(slow, 10)
        assert response.status == 200, await response.text()
        assert (await response.json())["id"] == invoice_id
        response.release()
    assert await asyncio.wait_for(stopping, 30) == 0, gateway.log_text()[-3000:]
    assert not any(_alive(pid) for pid in children)
    log = gateway.log_text()
    assert "all api processes stopped" in log and "Traceback" not in log, log


HEALTHZ_COUNT = re.compile(r'^coinvoice_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', re.M)


def _metrics_dir(pid: int) -> Path:
    """The prometheus-client multiprocess directory in a process's environment."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return Path(next(v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")).split(b"=", 1)[1].decode())


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*")} if folder.exists() else set()


async def _healthz_count(session: aiohttp.ClientSession, gateway: GatewayProcess) -> float:
    async with session.get(gateway.base + "/metrics") as r:
        assert r.status == 200
        found = HEALTHZ_COUNT.search(await r.text())
    assert found is not None
    return float(found.group(1))


async def test_metrics_count_the_requests_of_every_process_whichever_answers(db_url, tmp_path):
    gateway = await _api_gateway(db_url, tmp_path)
    try:
        children = gateway.children()
        assert len(children) == 2, gateway.log_text()
        folder = _metrics_dir(children[0])
        # a new connection per request: the kernel spreads them over both children
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            before = await _healthz_count(session, gateway)
            for _ in range(40):
                async with session.get(gateway.base + "/healthz") as r:
                    assert r.status == 200
            seen = {await _healthz_count(session, gateway) for _ in range(12)}
        assert seen == {before + 40}  # every scrape, whichever child served it, counts both children's requests
        assert {f"counter_{pid}.db" for pid in children} <= _files(folder)
    finally:
        assert await gateway.stop() == 0
    assert not _files(folder)  # the parent removes its metrics directory on the way out
