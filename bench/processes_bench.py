"""Create-invoice throughput of `coinvoice serve --role api --processes 2` against `--processes 1`, same run.

Both gateways run at once on their own ports against the same database (an idle one costs nothing); rounds of
wrk (Debian's package: one thread per core, a Lua script that POSTs the create body) alternate between them, so
the machine's noise hits both alike. The ratio of each round pair is reported, with its median and range.

The ceiling: the load generator and PostgreSQL run on the same cores as the gateway. During every round the bench
reads the CPU time (/proc) of the gateway processes, of this database's PostgreSQL backends and of wrk; with
``c`` CPU-seconds per request in a 1-process round, the machine can serve at most ``cores / c`` requests per
second whatever the number of processes, so the best ratio possible here is ``cores / c / rate_1``. The bench
prints it next to the measured ratio, once as if nothing else ran and once with the cores that the machine's other
processes (other users, PostgreSQL's own background work) kept busy during the round taken away.
Run: .venv/bin/python -m bench.processes_bench [--seconds 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.api_bench import BODY, ENV
from bench.common import TICKS, cpu_seconds, fresh_database
from coinvoice.config import load_settings
from coinvoice.db.pool import create_pool
from coinvoice.services.companies import create_company
from tests.support.processes import GatewayProcess

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""
CONNECTIONS = 32


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU-seconds of the whole machine since boot (/proc/stat; iowait counts as idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS, idle / TICKS


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


@dataclass
class Round:
    rate: float
    cpu: dict[str, float]  # CPU-seconds per request: gateway, postgres, wrk
    others: float  # cores busy with everything else on the machine (other users' processes, PostgreSQL's own)
    idle: float  # cores idle


async def wrk_round(gateway: GatewayProcess, script: Path, seconds: float, dsn: str) -> Round:
    threads = len(os.sched_getaffinity(0))
    conn = await asyncpg.connect(dsn)
    try:
        backends = [
            r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ]
    finally:
        await conn.close()
    gw = gateway.children()
    before = {"gateway": cpu_seconds(gw), "postgres": cpu_seconds(backends), "wrk": _children_cpu()}
    busy0, idle0 = machine_cpu()
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{CONNECTIONS}",
        f"-d{round(seconds)}s",
        "-s",
        str(script),
        f"{gateway.base}/api/invoices/v1/regular",
        stdout=subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    text = out.decode()
    if proc.returncode != 0 or "Non-2xx" in text or "Socket errors" in text:
        raise RuntimeError(f"wrk against {gateway.base} failed or got errors:\n{text}")
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    used = {"gateway": cpu_seconds(gw) - before["gateway"], "postgres": cpu_seconds(backends) - before["postgres"]}
    used["wrk"] = _children_cpu() - before["wrk"]  # wrk has exited and been waited for: it counts there
    busy1, idle1 = machine_cpu()
    wall = time.monotonic() - started
    others = (busy1 - busy0 - sum(used.values())) / wall
    return Round(rate, {k: v / requests for k, v in used.items()}, max(0.0, others), (idle1 - idle0) / wall)


async def measure(seconds: float, rounds: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: apt-get install wrk")
    cores = len(os.sched_getaffinity(0))
    workdir = Path(tempfile.mkdtemp())
    async with fresh_database() as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=1)
        settings = load_settings({**ENV, "COINVOICE_DATA_DIR": str(workdir)})
        token = (await create_company(pool, settings, "Bench", None, None))["publicToken"]
        await pool.close()
        script = workdir / "create.lua"
        script.write_text(LUA.format(body=json.dumps(json.dumps(BODY)), token=token))
        env = {**ENV, "DATABASE_URL": dsn, "COINVOICE_DATA_DIR": str(workdir)}
        one = GatewayProcess(env, workdir / "one.log", role="api", processes=1)
        two = GatewayProcess(env, workdir / "two.log", role="api", processes=2)
        one.start()
        await one.wait_ready()
        two.start()
        try:
            await two.wait_ready()
            for gateway in (one, two):  # warm-up: connections, prepared statements
                await wrk_round(gateway, script, 1, dsn)
            results: dict[int, list[Round]] = {1: [], 2: []}
            for _ in range(rounds):
                results[1].append(await wrk_round(one, script, seconds, dsn))
                results[2].append(await wrk_round(two, script, seconds, dsn))
        finally:
            await two.stop()
            await one.stop()
    ratios = [b.rate / a.rate for a, b in zip(results[1], results[2], strict=True)]
    # the most requests per second the cores could serve at this CPU cost per request, over the 1-process rate:
    # with the machine to ourselves, and with what the rest of the machine left us during the round
    alone = [cores / sum(r.cpu.values()) / r.rate for r in results[1]]
    shared = [(cores - r.others) / sum(r.cpu.values()) / r.rate for r in results[1]]
    return {"cores": cores, "one": results[1], "two": results[2], "ratios": ratios, "alone": alone, "shared": shared}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    r = asyncio.run(measure(args.seconds, args.rounds))
    for n in (1, 2):
        rates = [x.rate for x in r["one" if n == 1 else "two"]]
        cpu = {
            k: statistics.median(x.cpu[k] for x in r["one" if n == 1 else "two"]) * 1000
            for k in ("gateway", "postgres", "wrk")
        }
        print(
            f"--processes {n}: {statistics.median(rates):6.0f} creates/s (rounds: {', '.join(f'{v:.0f}' for v in rates)});"
            f" CPU ms per request: gateway {cpu['gateway']:.2f}, postgres {cpu['postgres']:.2f}, wrk {cpu['wrk']:.2f}"
        )
    print(
        f"ratio 2/1: {statistics.median(r['ratios']):.2f} (per round: {', '.join(f'{v:.2f}' for v in r['ratios'])});"
        f" aim >= 1.6; ceiling on {r['cores']} cores shared with wrk and PostgreSQL:"
        f" {statistics.median(r['alone']):.2f} with the machine to ourselves,"
        f" {statistics.median(r['shared']):.2f} with what other processes left"
        f" (they kept {statistics.median(x.others for x in r['one']):.2f} cores busy, idle"
        f" {statistics.median(x.idle for x in r['one']):.2f})"
    )


if __name__ == "__main__":
    main()
