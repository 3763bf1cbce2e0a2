"""Soak: a realistic mix at a target rate against N API processes and a worker, payments arriving on litecoind.

Mix: create 30 %, get 45 %, proceed 10 %, payer page 10 %, list 5 %, sent open-loop (at the target rate whatever the
latency; at most MAX_IN_FLIGHT at once). Bounded in time and count; everything on 127.0.0.1. Prints the achieved
rate, p50/p99/max per call, errors by status, and the RSS of every process at start, after warm-up and at the end.

A probe runs beside it: a bare aiohttp + asyncpg app (bench/baseline_app.py) on the same database, sent one
request for every PROBE_EVERY of the mix (30 % inserts, 70 % selects) from the same client. Its p99 is the
machine's own noise in the same run (other processes, PostgreSQL checkpoints): the CI test holds the gateway's p99
to 100 ms above it.

Run: .venv/bin/python -m bench.soak [--rate 1000] [--seconds 600] [--warmup 60] [--processes 2]
Needs litecoind (scripts/setup.sh test) and DATABASE_URL (or the embedded server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import free_port, litecoin_bench, server_process
from coinvoice.config import Settings
from coinvoice.db.pool import create_pool
from coinvoice.services.companies import create_company
from tests.chains.watch_support import accept_litecoin
from tests.conftest import TEST_ENV
from tests.support.litecoind import LitecoinNode
from tests.support.processes import GatewayProcess, ProcessApi, rss_kib

MIX = {"create": 30, "get": 45, "proceed": 10, "payer_page": 10, "list": 5}
MAX_IN_FLIGHT = 256
PROBE_EVERY = 10
CREATE = "/api/invoices/v1/regular"
BODY = json.dumps({"invoiceCurrency": "eur", "items": [{"name": "Coffee", "price": "10.99"}]})
PROCEED = json.dumps({"clientEmail": "payer@example.com", "paymentCurrency": "ltc"})


@dataclass
class SoakResult:
    rate: float  # target requests/s
    achieved: float  # requests completed per second of the run
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # not sent: MAX_IN_FLIGHT requests were already waiting
    rss: dict[str, dict[str, int]] = field(default_factory=dict)  # process -> phase -> KiB
    payments: int = 0
    probe: list[float] = field(default_factory=list)  # latencies of the bare probe app

    @property
    def probe_p99(self) -> float:
        values = sorted(self.probe)
        return values[min(len(values) - 1, int(0.99 * len(values)))] if values else 0.0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def percentile(self, call: str, q: float) -> float:
        values = sorted(self.latencies[call])
        return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0

    @property
    def p99(self) -> float:
        every = sorted(v for values in self.latencies.values() for v in values)
        return every[min(len(every) - 1, int(0.99 * len(every)))] if every else 0.0

    def rss_growth(self) -> dict[str, float]:
        """Per process: RSS growth from after warm-up to the end, as a fraction."""
        return {p: (r["end"] - r["warm"]) / r["warm"] for p, r in self.rss.items() if r.get("warm")}

    def render(self) -> str:
        lines = [
            f"target {self.rate:.0f} req/s for {self.seconds:.0f} s: achieved {self.achieved:.1f} req/s,"
            f" {self.requests} requests, {self.skipped} skipped (in-flight cap), {self.payments} payments on litecoind",
            f"{'call':<12}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}",
        ]
        for call in MIX:
            values = self.latencies.get(call, [])
            if values:
                lines.append(
                    f"{call:<12}{len(values):>8}{self.percentile(call, 0.5) * 1000:>10.1f}"
                    f"{self.percentile(call, 0.99) * 1000:>10.1f}{max(values) * 1000:>10.1f}"
                )
        lines.append(f"{'all':<12}{self.requests:>8}{'':>10}{self.p99 * 1000:>10.1f}")
        if self.probe:
            lines.append(
                f"{'bare probe':<12}{len(self.probe):>8}{sorted(self.probe)[len(self.probe) // 2] * 1000:>10.1f}"
                f"{self.probe_p99 * 1000:>10.1f}{max(self.probe) * 1000:>10.1f}   (the machine's noise, same run)"
            )
        lines.append(f"errors by status: {dict(self.errors) or 'none'}")
        lines.append(f"{'process':<16}{'start KiB':>12}{'warm KiB':>12}{'end KiB':>12}{'growth':>9}")
        growth = self.rss_growth()
        for name, r in self.rss.items():
            lines.append(
                f"{name:<16}{r.get('start', 0):>12}{r.get('warm', 0):>12}{r.get('end', 0):>12}"
                f"{growth.get(name, 0) * 100:>8.1f}%"
            )
        return "\n".join(lines)


def _processes(api: GatewayProcess, worker: GatewayProcess) -> dict[str, int]:
    named = {"api-parent": api.pid} if api.processes > 1 else {}
    named.update({f"api-{n}": pid for n, pid in enumerate(sorted(api.children()), 1)})
    named["worker"] = worker.pid
    return named


def _sample_rss(result: SoakResult, processes: dict[str, int], phase: str) -> None:
    for name, pid in processes.items():
        result.rss.setdefault(name, {})[phase] = rss_kib(pid)


async def litecoin_company(dsn: str, settings: Settings, api_base: str, name: str) -> dict[str, Any]:
    """A company that accepts litecoin (the test wallet), through the API at ``api_base``."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        company = await create_company(pool, settings, name, None, None)
        async with aiohttp.ClientSession() as setup:
            await accept_litecoin(ProcessApi(api_base, setup), company, pool)
        return company
    finally:
        await pool.close()


async def run_soak(
    node: LitecoinNode,
    dsn: str,
    settings: Settings,
    workdir: Path,
    *,
    rate: float,
    seconds: float,
    warmup: float,
    processes: int = 2,
    seed: int | None = None,
) -> SoakResult:
    rng = random.Random(seed)
    env = {
        **TEST_ENV,
        "DATABASE_URL": dsn,
        "COINVOICE_DATA_DIR": str(workdir),
        "COINVOICE_LTC_RPC_URL": node.rpc_url,
        "COINVOICE_LTC_POLL_SECONDS": "1",
    }
    api_gateway = GatewayProcess(env, workdir / "soak-api.log", role="api", processes=processes)
    worker = GatewayProcess(env, workdir / "soak-worker.log", role="worker")
    api_gateway.start()
    worker.start()
    result = SoakResult(rate=rate, achieved=0.0, seconds=seconds)
    try:
        await api_gateway.wait_ready()
        await worker.wait_ready()
        company = await litecoin_company(dsn, settings, api_gateway.base, "Soak Shop")
        probe_port = free_port()
        probe = server_process(["-m", "bench.baseline_app", "--dsn", dsn, "--port", str(probe_port)], probe_port)
        async with probe:
            result = await _drive(
                api_gateway, worker, node, company["publicToken"], rng, result, seconds, warmup, probe_port
            )
    finally:
        await worker.stop()
        await api_gateway.stop()
    return result


async def _drive(
    api_gateway: GatewayProcess,
    worker: GatewayProcess,
    node: LitecoinNode,
    token: str,
    rng: random.Random,
    result: SoakResult,
    seconds: float,
    warmup: float,
    probe_port: int,
) -> SoakResult:
    base = api_gateway.base
    probe_base = f"http://127.0.0.1:{probe_port}/baseline"
    probe_ids: list[str] = []
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}
    known: deque[str] = deque(maxlen=2000)  # invoices to read
    fresh: deque[str] = deque()  # created, not yet proceeded
    to_pay: deque[tuple[str, str]] = deque()  # (address, amount) of proceeded invoices
    calls, weights = list(MIX), list(MIX.values())
    in_flight = 0
    recording = False
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def request(call: str) -> None:
            nonlocal in_flight
            if call == "proceed" and not fresh:
                call = "create"
            if call in ("get", "payer_page") and not known:
                call = "create"
            started = time.perf_counter()
            try:
                status, ok = await _one(session, base, call, auth, plain, known, fresh, to_pay, rng)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, ok = type(exc).__name__, False
            finally:
                in_flight -= 1
            if recording:
                result.latencies[call].append(time.perf_counter() - started)
                if not ok:
                    result.errors[f"{call} {status}"] += 1

        async def probe() -> None:
            nonlocal in_flight
            started = time.perf_counter()
            try:
                if not probe_ids or rng.random() < 0.3:
                    async with session.post(probe_base, data=BODY, headers=plain) as r:
                        probe_ids.append((await r.json())["id"])
                else:
                    async with session.get(f"{probe_base}/{rng.choice(probe_ids)}") as r:
                        await r.read()
            except (aiohttp.ClientError, TimeoutError):
                pass
            finally:
                in_flight -= 1
            if recording:
                result.probe.append(time.perf_counter() - started)

        async def pay() -> None:
            """Payments arrive meanwhile: a few proceeded invoices paid and a block mined every 2 s."""
            while True:
                for _ in range(min(len(to_pay), 5)):
                    address, amount = to_pay.popleft()
                    await asyncio.to_thread(node.send, address, Decimal(amount))
                    result.payments += 1
                await asyncio.to_thread(node.mine, 1)
                await asyncio.sleep(2)

        payer = asyncio.create_task(pay())
        procs = _processes(api_gateway, worker)
        _sample_rss(result, procs, "start")
        tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        begin = loop.time()
        phase_end = begin + warmup
        sent = 0
        for phase in ("warmup", "measure"):
            recording = phase == "measure"
            if recording:
                _sample_rss(result, procs, "warm")
                begin, sent = loop.time(), 0
                phase_end = begin + seconds
            total = int(result.rate * (phase_end - begin))
            while sent < total and loop.time() < phase_end:
                due = min(total, int((loop.time() - begin) * result.rate) + 1)
                while sent < due:
                    sent += 1
                    if in_flight >= MAX_IN_FLIGHT:
                        if recording:
                            result.skipped += 1
                        continue
                    in_flight += 1
                    if sent % PROBE_EVERY == 0:
                        in_flight += 1
                        probing = asyncio.create_task(probe())
                        tasks.add(probing)
                        probing.add_done_callback(tasks.discard)
                    task = asyncio.create_task(request(rng.choices(calls, weights)[0]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(0.002)
        if tasks:
            await asyncio.wait(set(tasks), timeout=30)
        elapsed = loop.time() - begin
        result.achieved = result.requests / elapsed
        result.seconds = elapsed
        payer.cancel()
        _sample_rss(result, procs, "end")
    return result


async def _one(session, base, call, auth, plain, known, fresh, to_pay, rng) -> tuple[Any, bool]:
    """One call of the mix; (status, as expected)."""
    if call == "create":
        async with session.post(base + CREATE, data=BODY, headers=auth) as r:
            body = await r.json() if r.status == 201 else await r.read()
            if r.status == 201:
                known.append(body["id"])
                fresh.append(body["id"])
            return r.status, r.status == 201
    if call == "get":
        async with session.get(f"{base}{CREATE}/{rng.choice(known)}") as r:
            await r.read()
            return r.status, r.status == 200
    if call == "proceed":
        async with session.post(f"{base}{CREATE}/{fresh.popleft()}/proceed", data=PROCEED, headers=plain) as r:
            body = await r.json() if r.status == 200 else await r.read()
            if r.status == 200:
                to_pay.append((body["address"]["address"], body["paymentDetails"]["amount"]))
            return r.status, r.status == 200
    if call == "payer_page":
        async with session.get(f"{base}/{rng.choice(known)}") as r:
            await r.read()
            return r.status, r.status == 200
    async with session.get(f"{base}/api/invoices/v1?limit=20", headers=auth) as r:
        await r.read()
        return r.status, r.status == 200


async def main_async(args: argparse.Namespace) -> SoakResult:
    async with litecoin_bench("coinvoice-soak-") as (node, dsn, settings, workdir):
        result = await run_soak(
            node,
            dsn,
            settings,
            workdir,
            rate=args.rate,
            seconds=args.seconds,
            warmup=args.warmup,
            processes=args.processes,
            seed=args.seed,
        )
    print(result.render())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="target requests per second")
    parser.add_argument("--seconds", type=float, default=600.0, help="measured duration (after the warm-up)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of load before measuring")
    parser.add_argument("--processes", type=int, default=2, help="API processes")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    if not (0 < args.rate <= 5000 and 0 < args.seconds <= 3600 and 0 <= args.warmup <= 600):
        parser.error("bounded: rate in (0, 5000], seconds in (0, 3600], warmup in [0, 600]")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
