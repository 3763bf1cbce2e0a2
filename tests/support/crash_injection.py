"""Crash injection: invoices created, filled and paid on litecoind in a stream while the worker process is killed
with SIGKILL at random moments (and API processes now and then), then the invariants an operator counts on.

Shared by tests/ops/test_crash_injection.py (30 kills) and bench/crash_bench.py (--kills 100).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from coinvoice.config import Settings
from coinvoice.services.companies import create_company
from tests.chains.watch_support import accept_litecoin, address_of, due
from tests.conftest import TEST_ENV
from tests.support.litecoind import LitecoinNode
from tests.support.processes import GatewayProcess, ProcessApi
from tests.webhooks.helpers import delivered_by_invoice, events_by_invoice
from tests.webhooks.receiver import Receiver

CREATE = "/api/invoices/v1/regular"
UNITS = Decimal(10) ** 8


@dataclass
class Planned:
    """One invoice of the stream: its idempotency key, view once filled, and the payments sent to it."""

    key: str
    kind: str  # "full", "split" (two payments), "under" (half), "unpaid"
    view: dict[str, Any] | None = None
    sent: list[tuple[str, int]] = field(default_factory=list)  # (txid, units)

    @property
    def expected_status(self) -> str:
        return {"full": "done", "split": "done", "under": "wrong", "unpaid": "pending"}[self.kind]


@dataclass
class Report:
    worker_kills: int = 0
    api_kills: int = 0
    invoices: int = 0
    payments: int = 0
    events: int = 0
    deliveries: int = 0  # accepted webhook requests, duplicates included
    client_retries: int = 0
    leaderships: int = 0  # worker starts that got as far as leading the litecoin watcher before their kill
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.worker_kills} worker kills, {self.api_kills} API kills, {self.invoices} invoices,"
            f" {self.payments} payments, {self.events} events, {self.deliveries} webhook deliveries"
            f" ({self.deliveries - self.events} repeated), {self.client_retries} client retries,"
            f" {self.leaderships} worker starts led the watcher,"
            f" {self.seconds:.0f} s"
        )


async def _retrying(api: ProcessApi, report: Report, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    """Call until a process answers with something other than 5xx (the client's side of a crash)."""
    for _ in range(200):
        try:
            status, body = await api.call(method, path, **kw)
        except (aiohttp.ClientConnectionError, TimeoutError):
            status, body = 0, None
        if 0 < status < 500:
            return status, body
        report.client_retries += 1
        await asyncio.sleep(0.1)
    raise AssertionError(f"{method} {path} never answered: {status} {body}")


async def _one_invoice(api: ProcessApi, node: LitecoinNode, token: str, plan: Planned, report: Report) -> None:
    body = {"invoiceCurrency": "eur", "items": [{"name": "Tea", "price": "7.5"}]}
    headers = {"Idempotency-Key": plan.key}
    status, created = await _retrying(api, report, "POST", CREATE, token=token, json_body=body, headers=headers)
    assert status in (200, 201), created
    proceed = {"clientEmail": "payer@example.com", "paymentCurrency": "ltc"}
    status, view = await _retrying(api, report, "POST", f"{CREATE}/{created['id']}/proceed", json_body=proceed)
    if status != 200:  # a retry after a proceed that did happen: the invoice is filled already
        status, view = await _retrying(api, report, "GET", f"{CREATE}/{created['id']}")
    assert status == 200 and view["status"] == "pending", view
    plan.view = view
    amount = due(view)
    parts = {"full": [amount], "split": [amount / 2, amount - amount / 2], "under": [amount / 2], "unpaid": []}
    for part in parts[plan.kind]:
        part = part.quantize(Decimal("0.00000001"))
        txid = await asyncio.to_thread(node.send, address_of(view), part)
        plan.sent.append((txid, int(part * UNITS)))
        report.payments += 1


def gateway_env(node: LitecoinNode, db_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **TEST_ENV,
        "DATABASE_URL": db_url,
        "COINVOICE_DATA_DIR": str(data_dir),
        "COINVOICE_LTC_RPC_URL": node.rpc_url,
        "COINVOICE_LTC_POLL_SECONDS": "0.2",
        "COINVOICE_WEBHOOK_TIMEOUT_SECONDS": "2",
        "COINVOICE_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        "COINVOICE_WEBHOOK_RETRY_MAX_SECONDS": "2",
    }


async def run_crash_injection(
    node: LitecoinNode,
    db_url: str,
    pool: asyncpg.Pool,
    settings: Settings,
    workdir: Path,
    *,
    worker_kills: int,
    api_kills: int,
    seed: int | None = None,
    settle_seconds: float = 120.0,
) -> Report:
    """Run the stream with the kills, wait for everything to settle, assert the invariants; return the counts."""
    rng = random.Random(seed)
    report = Report()
    started = time.monotonic()
    receiver = Receiver()
    await receiver.start()
    env = gateway_env(node, db_url, workdir)
    api_gateway = GatewayProcess(env, workdir / "api.log", role="api", processes=2)
    worker = GatewayProcess(env, workdir / "worker.log", role="worker")
    plans: list[Planned] = []
    api_gateway.start()
    worker.start()
    try:
        await api_gateway.wait_ready()
        await worker.wait_ready()
        company = await create_company(pool, settings, "Crash Shop", None, None)
        token = company["publicToken"]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            api = ProcessApi(api_gateway.base, session)
            await accept_litecoin(api, company, pool)
            status, reply = await api.call(
                "PUT", "/api/company/settings/webhook-url", token=token, json_body={"webHookUrl": receiver.url}
            )
            assert status == 200, reply
            done = asyncio.Event()

            async def produce() -> None:
                kinds = ["full", "full", "split", "under", "unpaid"]
                while not done.is_set():
                    plan = Planned(uuid.uuid4().hex, rng.choice(kinds))
                    plans.append(plan)
                    await _one_invoice(api, node, token, plan, report)

            async def mine() -> None:
                while not done.is_set():
                    await asyncio.to_thread(node.mine, 1)
                    await asyncio.sleep(0.5)

            async def kill() -> None:
                api_at = {round((i + 1) * worker_kills / (api_kills + 1)) for i in range(api_kills)}
                for n in range(1, worker_kills + 1):
                    if n % 4 == 0:  # during start-up
                        await asyncio.sleep(rng.uniform(0.1, 1.5))
                    else:  # while it works: polling blocks, recording deposits, sending webhooks
                        await worker.wait_ready()
                        await asyncio.sleep(rng.uniform(0.0, 1.2))
                    worker.kill9()
                    report.worker_kills += 1
                    worker.start()
                    if n in api_at and (children := api_gateway.children()):
                        await asyncio.to_thread(_kill9, rng.choice(children))
                        report.api_kills += 1
                done.set()

            tasks = [asyncio.create_task(t()) for t in (produce, produce, mine, kill)]
            await asyncio.gather(*tasks)
            await asyncio.to_thread(node.mine, 1)  # the last payments confirm
            await worker.wait_ready()
            await _settle(api, plans, settle_seconds)
        expected = await events_by_invoice(db_url)
        try:
            await receiver.wait_for(lambda r: delivered_by_invoice(r) == expected, within=settle_seconds)
        except TimeoutError:
            raise AssertionError(
                f"webhooks not all delivered in order: expected {expected}, got {delivered_by_invoice(receiver)}"
            ) from None
        await _assert_invariants(pool, company["id"], plans)
        report.invoices = len(plans)
        report.events = sum(len(v) for v in expected.values())
        report.deliveries = len(receiver.delivered)
        report.seconds = time.monotonic() - started
        log = worker.log_text() + api_gateway.log_text()
        report.leaderships = worker.log_text().count("leading the litecoin watcher")
        assert "Traceback" not in log, log[-5000:]
        # and a clean stop of what survived: jobs end their round, requests finish, pools close, exit 0
        assert await worker.stop() == 0, worker.log_text()[-3000:]
        assert await api_gateway.stop() == 0, api_gateway.log_text()[-3000:]
        return report
    finally:
        await worker.stop()
        await api_gateway.stop()
        await receiver.stop()


def _kill9(pid: int) -> None:
    import os
    import signal

    os.kill(pid, signal.SIGKILL)


async def _settle(api: ProcessApi, plans: list[Planned], seconds: float) -> None:
    """Until every invoice has the status its payments imply (the watcher catches up after the last kill)."""
    deadline = time.monotonic() + seconds
    while True:
        wrong = {}
        for plan in plans:
            assert plan.view is not None
            status, view = await api.call("GET", f"{CREATE}/{plan.view['id']}")
            if status != 200 or view["status"] != plan.expected_status:
                wrong[plan.view["id"]] = (plan.kind, view["status"] if status == 200 else status)
        if not wrong:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"invoices not in the status their payments imply: {wrong}")
        await asyncio.sleep(0.5)


async def _assert_invariants(pool: asyncpg.Pool, company_id: str, plans: list[Planned]) -> None:
    company = uuid.UUID(company_id)
    # no idempotent create duplicated, none lost
    keys = await pool.fetch("SELECT idempotency_key FROM invoices WHERE company_id = $1", company)
    assert Counter(r["idempotency_key"] for r in keys) == Counter(p.key for p in plans)
    # every payment recorded once, credited, on the invoice it paid; nothing else
    rows = await pool.fetch(
        "SELECT invoice_id, txid, amount_units, credited FROM deposits WHERE company_id = $1", company
    )
    recorded = Counter((str(r["invoice_id"]), r["txid"], int(r["amount_units"])) for r in rows)
    sent = Counter((p.view["id"], txid, units) for p in plans if p.view for txid, units in p.sent)
    assert recorded == sent, (recorded - sent, sent - recorded)
    assert all(r["credited"] for r in rows)
    # the view's received amount is the sum of what was sent
    for plan in plans:
        assert plan.view is not None
        received = await pool.fetchval(
            "SELECT coalesce(sum(amount_units), 0) FROM deposits WHERE invoice_id = $1", uuid.UUID(plan.view["id"])
        )
        assert int(received) == sum(units for _, units in plan.sent), plan
