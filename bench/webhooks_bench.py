"""Webhook delivery throughput against a bare loop of signed POSTs, and status-change-to-delivery latency.

Both sides use the same aiohttp client settings and concurrency against the same receiver (a separate
process on 127.0.0.1), alternating rounds in the same run. The concurrency is what the sender may use towards
one endpoint: COINVOICE_WEBHOOK_ENDPOINT_CONCURRENCY (at most COINVOICE_WEBHOOK_CONCURRENCY). Run: .venv/bin/python -m bench.webhooks_bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import free_port, fresh_database
from coinvoice.app import create_app
from coinvoice.config import load_settings
from coinvoice.db.companies import company_for_token
from coinvoice.db.invoice_inserts import InvoiceInserts
from coinvoice.db.pool import create_pool
from coinvoice.domain.invoice import Item
from coinvoice.services.companies import create_company
from coinvoice.services.invoices import NewInvoice, create_regular
from coinvoice.services.tokens import secret_key_from_salt, token_hash
from coinvoice.webhooks.sender import WebhookSender
from coinvoice.webhooks.signing import signature_headers

ENV = {"COINVOICE_MASTER_KEY": "bench", "COINVOICE_WEBHOOK_ALLOW_PRIVATE": "true"}


def receiver_main(port: int) -> None:
    """The receiver process: answers 200 and remembers when each event id arrived."""
    seen: dict[str, float] = {}

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        seen.setdefault(request.headers.get("Coinvoice-Event-Id", ""), time.time())
        return web.Response(text="ok" if body else "")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(seen)

    async def reset(request: web.Request) -> web.Response:
        seen.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def start_receiver(port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.webhooks_bench", "--receiver", str(port))
    async with aiohttp.ClientSession() as s:
        for _ in range(200):
            try:
                async with s.get(f"http://127.0.0.1:{port}/stats"):
                    return proc
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError("receiver did not start")


async def queue_events(pool, company_id: uuid.UUID, n: int, payload: dict) -> None:
    """n invoices with one event each; the trigger queues a delivery per event."""
    async with pool.acquire() as conn, conn.transaction():
        ids = await conn.fetch(
            "INSERT INTO invoices (id, company_id, status, invoice_currency, items, total)"
            " SELECT gen_random_uuid(), $1, 'created', 'eur', '[]', 1 FROM generate_series(1, $2) RETURNING id",
            company_id,
            n,
        )
        await conn.executemany(
            "INSERT INTO events (id, company_id, invoice_id, type, status, payload)"
            " VALUES (gen_random_uuid(), $1, $2, 'invoice.created', 'created', $3)",
            [(company_id, r["id"], {**payload, "invoiceId": str(r["id"])}) for r in ids],
        )


async def bare_loop(session: aiohttp.ClientSession, url: str, key: str, body: bytes, n: int, conc: int) -> float:
    """Deliveries per second of signed POSTs with no queue at all."""
    counter = iter(range(n))

    async def worker() -> None:
        for _ in counter:
            headers = signature_headers(body, [key], str(uuid.uuid4()))
            async with session.post(url, data=body, headers=headers, allow_redirects=False) as r:
                await r.read()
                assert r.status == 200

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return n / (time.perf_counter() - start)


async def sender_run(pool, session, settings, company_id, payload, n) -> float:
    await queue_events(pool, company_id, n, payload)
    sender = WebhookSender(pool, session, settings)
    start = time.perf_counter()
    await sender.drain()
    elapsed = time.perf_counter() - start
    await sender.close()
    left = await pool.fetchval("SELECT count(*) FROM webhook_deliveries WHERE state <> 'delivered'")
    assert left == 0, f"{left} deliveries not delivered"
    return n / elapsed


async def latency(dsn, settings, profile, rport: int, count: int, rate: float) -> list[float]:
    """Milliseconds from the status change (the event's commit) to the receiver seeing it, via a worker app."""
    runner = web.AppRunner(create_app(settings, role="worker", dsn=dsn))
    await runner.setup()
    pool = await create_pool(dsn, min_size=1, max_size=4)
    committed: dict[str, float] = {}
    inserts = InvoiceInserts(pool)
    try:
        async with aiohttp.ClientSession() as s:
            await s.post(f"http://127.0.0.1:{rport}/reset")
            for _ in range(count):
                new = NewInvoice("eur", [Item("Coffee", Decimal(10))], False, None, None)
                view, _ = await create_regular(pool, settings, profile, new, None, inserts)
                committed[view["id"]] = time.time()
                await asyncio.sleep(1 / rate)
            await asyncio.sleep(1.0)
            async with s.get(f"http://127.0.0.1:{rport}/stats") as r:
                seen = await r.json()
        rows = await pool.fetch("SELECT id, invoice_id FROM events WHERE type = 'invoice.created'")
        event_of = {str(r["invoice_id"]): str(r["id"]) for r in rows}
        return [(seen[event_of[i]] - t) * 1000 for i, t in committed.items() if event_of.get(i) in seen]
    finally:
        await pool.close()
        await runner.cleanup()


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def measure(n: int, rounds: int, count: int, rate: float) -> dict[str, Any]:
    """Per-round rates of the bare loop and of the sender, and the status-change-to-delivery latencies."""
    settings = load_settings({**ENV, "COINVOICE_DATA_DIR": tempfile.mkdtemp()})
    settings = replace(settings, webhook_poll_seconds=5.0)
    rport = free_port()
    url = f"http://127.0.0.1:{rport}/hook"
    receiver = await start_receiver(rport)
    try:
        async with fresh_database() as dsn:
            pool = await create_pool(dsn, min_size=2, max_size=10)
            company = await create_company(pool, settings, "Bench", None, None)
            company_id = uuid.UUID(company["id"])
            profile = await company_for_token(pool, token_hash(company["publicToken"]))
            await pool.execute("UPDATE companies SET webhook_url = $1 WHERE id = $2", url, company_id)
            salt = await pool.fetchval("SELECT key_salt FROM api_tokens WHERE kind = 'secret'")
            key = secret_key_from_salt(settings.master_key, bytes(salt))
            async with aiohttp.ClientSession() as warm:
                await create_regular(
                    pool,
                    settings,
                    profile,
                    NewInvoice("eur", [Item("x", Decimal(1))], False, None, None),
                    None,
                    InvoiceInserts(pool),
                )
                sample = await pool.fetchval("SELECT payload FROM events LIMIT 1")
                body = (await pool.fetchval("SELECT payload::text FROM events LIMIT 1")).encode()
                conc = min(settings.webhook_endpoint_concurrency, settings.webhook_concurrency)  # one endpoint
                await bare_loop(warm, url, key, body, 200, conc)  # warm-up
            async with aiohttp.ClientSession() as warm:  # prepared statements, table statistics
                await sender_run(pool, warm, settings, company_id, sample, 500)
            ours, base = [], []
            for _ in range(rounds):  # alternate, so machine noise hits both sides alike
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                    base.append(await bare_loop(session, url, key, body, n, conc))
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                    ours.append(await sender_run(pool, session, settings, company_id, sample, n))
            lat = await latency(dsn, settings, profile, rport, count, rate) if count else []
            await pool.close()
    finally:
        receiver.terminate()
        await receiver.wait()
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    return {"body": len(body), "concurrency": conc, "base": base, "ours": ours, "ratios": ratios, "latency": lat}


async def main(n: int, rounds: int, count: int, rate: float) -> None:
    r = await measure(n, rounds, count, rate)
    base, ours, ratios, lat = r["base"], r["ours"], r["ratios"], r["latency"]
    print(f"body {r['body']} bytes, concurrency {r['concurrency']}, {n} deliveries x {rounds} rounds")
    print(f"bare signed POST loop : {statistics.median(base):8.0f} req/s  (rounds: {_fmt(base)})")
    print(f"webhook sender        : {statistics.median(ours):8.0f} del/s  (rounds: {_fmt(ours)})")
    print(
        f"ratio sender/bare     : {statistics.median(ratios):8.2f}  median of per-round ratios"
        f" ({', '.join(f'{x:.2f}' for x in ratios)}); aim >= 0.7"
    )
    if lat:
        print(
            f"status change -> delivery: {len(lat)}/{count} at {rate:g}/s,"
            f" p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, max {max(lat):.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--latency-rate", type=float, default=50.0, help="status changes per second")
    args = parser.parse_args()
    if args.receiver:
        receiver_main(args.receiver)
    else:
        asyncio.run(main(args.deliveries, args.rounds, args.latency_events, args.latency_rate))
