"""Create-invoice and get-invoice throughput through the real HTTP stack, as ratios to a bare baseline.

Baseline: a bare aiohttp + asyncpg app doing one insert (create) or one primary-key select (get), on the
same database server in the same run. Run: .venv/bin/python -m bench.api_bench [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
from typing import Any

import asyncpg

from bench.common import closed_loop, cpu_seconds, free_port, fresh_database, server_process
from coinvoice.config import load_settings
from coinvoice.db.pool import create_pool
from coinvoice.services.companies import create_company

BODY = {
    "invoiceCurrency": "eur",
    "items": [{"name": "Coffee", "price": 10.99}, {"name": "Sugar", "price": 1}, {"name": "Discount", "price": -3}],
    "isMerchantPaysFee": False,
}
ENV = {"COINVOICE_MASTER_KEY": "bench", "COINVOICE_FIXED_RATES": json.dumps({"eur/ltc": "0.0125"})}


async def run(requests: int, rounds: int) -> dict[str, Any]:
    async with fresh_database() as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=1)
        settings = load_settings({**ENV, "COINVOICE_DATA_DIR": tempfile.mkdtemp()})
        token = (await create_company(pool, settings, "Bench", None, None))["publicToken"]
        await pool.close()
        gw_port, base_port = free_port(), free_port()
        gw = server_process(["-m", "bench.gateway_app", "--dsn", dsn, "--port", str(gw_port)], gw_port, ENV)
        base = server_process(["-m", "bench.baseline_app", "--dsn", dsn, "--port", str(base_port)], base_port)
        payload = json.dumps(BODY)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        created: dict[str, list[str]] = {"gw": [], "base": []}

        def poster(url: str, sink: list[str], hdrs: dict[str, str]):
            async def request(session, i):
                async with session.post(url, data=payload, headers=hdrs) as r:
                    assert r.status == 201, await r.text()
                    sink.append((await r.json())["id"])

            return request

        def getter(url: str, ids: list[str]):
            async def request(session, i):
                async with session.get(f"{url}/{ids[i % len(ids)]}") as r:
                    assert r.status == 200, await r.text()
                    await r.read()

            return request

        results: dict[str, list[float]] = {k: [] for k in ("create", "create_base", "get", "get_base")}
        cpu: dict[str, list[dict[str, float]]] = {"create": [], "create_base": []}
        async with gw as gw_proc, base as base_proc:
            gw_create = poster(f"http://127.0.0.1:{gw_port}/api/invoices/v1/regular", created["gw"], headers)
            base_create = poster(
                f"http://127.0.0.1:{base_port}/baseline", created["base"], {"Content-Type": "application/json"}
            )
            await closed_loop(gw_create, 200)  # warm-up: connections, prepared statements
            await closed_loop(base_create, 200)
            conn = await asyncpg.connect(dsn)
            backends = [
                r["pid"]
                for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", dsn.rsplit("/", 1)[1])
            ]
            await conn.close()
            for _ in range(rounds):  # interleaved so that machine noise hits both sides alike
                for name, server, make in (("create", gw_proc, gw_create), ("create_base", base_proc, base_create)):
                    # CPU-seconds per request of the server, of this database's backends and of this client
                    pids = {"server": [server.pid], "postgres": backends, "client": [os.getpid()]}
                    before = {k: cpu_seconds(v) for k, v in pids.items()}
                    results[name].append(await closed_loop(make, requests))
                    cpu[name].append({k: (cpu_seconds(v) - before[k]) / requests for k, v in pids.items()})
            gw_get = getter(f"http://127.0.0.1:{gw_port}/api/invoices/v1/regular", created["gw"])
            base_get = getter(f"http://127.0.0.1:{base_port}/baseline", created["base"])
            for _ in range(rounds):
                results["get"].append(await closed_loop(gw_get, requests))
                results["get_base"].append(await closed_loop(base_get, requests))
    summary: dict[str, Any] = {k: statistics.median(v) for k, v in results.items()}
    summary["cpu"] = cpu
    summary["create_ratios"] = [a / b for a, b in zip(results["create"], results["create_base"], strict=True)]
    summary["get_ratios"] = [a / b for a, b in zip(results["get"], results["get_base"], strict=True)]
    # the median of per-round ratios: each round's pair ran back to back under the same machine load
    summary["create_ratio"] = statistics.median(
        a / b for a, b in zip(results["create"], results["create_base"], strict=True)
    )
    summary["get_ratio"] = statistics.median(a / b for a, b in zip(results["get"], results["get_base"], strict=True))
    return summary


async def run_rounds(requests: int, rounds: int) -> dict[str, Any]:
    """Per-round ratios (gateway / baseline) of create and get, for reports that show their range."""
    summary = await run(requests, rounds)
    return {"create": summary["create_ratios"], "get": summary["get_ratios"], "cpu": summary["cpu"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    r = asyncio.run(run(args.requests, args.rounds))
    print(
        f"create invoice: {r['create']:.0f} req/s, baseline insert {r['create_base']:.0f} req/s, "
        f"ratio {r['create_ratio']:.2f} (median of per-round ratios: {_fmt(r['create_ratios'])})"
    )
    for name, what in (("create", "gateway"), ("create_base", "baseline")):
        med = {k: statistics.median(c[k] for c in r["cpu"][name]) * 1000 for k in ("server", "postgres", "client")}
        print(
            f"  CPU ms per create, {what:<8}: server {med['server']:.3f}, postgres {med['postgres']:.3f},"
            f" client {med['client']:.3f}, total {sum(med.values()):.3f}"
        )
    print(
        f"get invoice:    {r['get']:.0f} req/s, baseline select {r['get_base']:.0f} req/s, "
        f"ratio {r['get_ratio']:.2f} (median of per-round ratios: {_fmt(r['get_ratios'])})"
    )


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
