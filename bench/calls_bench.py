"""CPU per call of the soak's mix, call by call: where a request's CPU goes in the gateway and in PostgreSQL.

One API process (and a worker) against litecoind; each call of bench.soak's mix is sent ``--requests`` times from
``--concurrency`` clients, and the CPU of the API process and of this database's backends is read from /proc
around it. A bare aiohttp + asyncpg app (bench/baseline_app.py) doing one insert and one select is measured the
same way in the same run, as the yardstick. Run: .venv/bin/python -m bench.calls_bench [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections import deque
from typing import Any

import aiohttp

from bench.common import closed_loop, cpu_seconds, free_port, litecoin_bench, server_process
from bench.soak import BODY, _one, litecoin_company
from coinvoice.db.pool import create_pool
from tests.conftest import TEST_ENV
from tests.support.processes import GatewayProcess

CALLS = ("create", "get", "proceed", "payer_page", "list")


async def backend_pids(dsn: str) -> list[int]:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        rows = await pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [r["pid"] for r in rows]
    finally:
        await pool.close()


async def measure(requests: int, concurrency: int, calls: tuple[str, ...] = CALLS) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    async with litecoin_bench("coinvoice-calls-") as (node, dsn, settings, workdir):
        env = {**TEST_ENV, "DATABASE_URL": dsn, "COINVOICE_DATA_DIR": str(workdir)}
        env["COINVOICE_LTC_RPC_URL"] = node.rpc_url
        api = GatewayProcess(env, workdir / "api.log", role="api", processes=1)
        worker = GatewayProcess(env, workdir / "worker.log", role="worker")
        api.start()
        worker.start()
        try:
            await api.wait_ready()
            await worker.wait_ready()
            company = await litecoin_company(dsn, settings, api.base, "Calls Shop")
            auth = {"Authorization": f"Bearer {company['publicToken']}", "Content-Type": "application/json"}
            plain = {"Content-Type": "application/json"}
            known: deque[str] = deque(maxlen=5000)
            fresh: deque[str] = deque()
            to_pay: deque[tuple[str, str]] = deque()
            rng = random.Random(1)

            def make(call: str) -> Any:
                async def one(session: aiohttp.ClientSession, i: int) -> None:
                    status, ok = await _one(session, api.base, call, auth, plain, known, fresh, to_pay, rng)
                    assert ok, (call, status)

                return one

            for call in CALLS:
                if call not in calls and call != "create":  # creates make the invoices the others use
                    continue
                if call == "proceed":  # invoices to fill, made beforehand
                    fresh.clear()
                    await closed_loop(make("create"), requests, concurrency)
                # the serving process(es): with --processes 1 the child list is the process itself, counted once
                serving = sorted({api.pid, *api.children()})
                results[call] = await _cpu_of(make(call), requests, concurrency, serving, dsn)
        finally:
            await worker.stop()
            await api.stop()
        port = free_port()
        async with server_process(["-m", "bench.baseline_app", "--dsn", dsn, "--port", str(port)], port) as proc:
            url = f"http://127.0.0.1:{port}/baseline"
            ids: list[str] = []

            async def insert(session: aiohttp.ClientSession, i: int) -> None:
                async with session.post(url, data=BODY, headers=plain) as r:
                    ids.append((await r.json())["id"])

            async def select(session: aiohttp.ClientSession, i: int) -> None:
                async with session.get(f"{url}/{ids[i % len(ids)]}") as r:
                    await r.read()

            results["bare insert"] = await _cpu_of(insert, requests, concurrency, [proc.pid], dsn)
            results["bare select"] = await _cpu_of(select, requests, concurrency, [proc.pid], dsn)
    return results


async def _cpu_of(one: Any, requests: int, concurrency: int, pids: list[int], dsn: str) -> dict[str, float]:
    backends = await backend_pids(dsn)
    before = cpu_seconds(pids), cpu_seconds(backends)
    rate = await closed_loop(one, requests, concurrency)
    backends_after = await backend_pids(dsn)
    after = cpu_seconds(pids), cpu_seconds(sorted(set(backends) | set(backends_after)))
    return {
        "per_s": rate,
        "server_ms": 1000 * (after[0] - before[0]) / requests,
        "postgres_ms": 1000 * (after[1] - before[1]) / requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--calls", default=",".join(CALLS), help="which calls, comma-separated")
    args = parser.parse_args()
    results = asyncio.run(measure(args.requests, args.concurrency, tuple(args.calls.split(","))))
    print(f"{'call':<12} {'per s':>8} {'server ms':>10} {'postgres ms':>12}   (CPU per request)")
    for call, r in results.items():
        print(f"{call:<12} {r['per_s']:8.0f} {r['server_ms']:10.3f} {r['postgres_ms']:12.3f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
