"""Shared bench helpers: a fresh migrated database, a server subprocess, and a closed-loop HTTP load."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coinvoice.db import chain_watch  # noqa: E402
from tests.support import database  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (Linux /proc); a pid that is gone counts 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def fresh_database():
    """A migrated database on DATABASE_URL's server or the embedded one, dropped afterwards."""
    url = database.server_url()
    template = await database.create_template(url)
    try:
        yield database.with_database(url, template)
    finally:
        await database.drop_database(url, template)


@asynccontextmanager
async def litecoin_bench(prefix: str):
    """litecoind in regtest, a fresh migrated database, the test settings and a work folder: (node, dsn, settings,
    workdir), all stopped and removed afterwards."""
    from coinvoice.config import load_settings
    from tests.conftest import TEST_ENV
    from tests.support.litecoind import start_litecoind

    node = await asyncio.to_thread(start_litecoind)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        async with fresh_database() as dsn:
            yield node, dsn, load_settings({**TEST_ENV, "COINVOICE_DATA_DIR": str(workdir)}), workdir
    finally:
        await asyncio.to_thread(node.stop)
        shutil.rmtree(node.datadir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


@asynccontextmanager
async def server_process(args: list[str], port: int, env: dict[str, str] | None = None):
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})})  # noqa: ASYNC220
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(200):
                try:
                    async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"server {args} did not start")
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


async def closed_loop(
    make_request: Callable[[aiohttp.ClientSession, int], Any], total: int, concurrency: int = 16
) -> float:
    """Requests per second for ``total`` requests from ``concurrency`` concurrent clients."""
    counter = iter(range(total))
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker() -> None:
            for i in counter:
                await make_request(session, i)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - start)


async def reset_watch_state(pool: Any, chain: str, start: int, start_hash: str, keep: tuple[str, ...] = ()) -> None:
    """Undo a watcher round: its events (but those of types ``keep``), deposits and recent blocks, invoices back
    to pending, and the cursor back to block ``start``."""
    await pool.execute("DELETE FROM events WHERE type <> ALL($1::text[])", list(keep))
    await pool.execute("DELETE FROM deposits")
    await pool.execute("DELETE FROM chain_blocks")
    await pool.execute("UPDATE invoices SET status = 'pending' WHERE status <> 'created'")
    async with pool.acquire() as conn:
        await chain_watch.rewind_cursor(conn, chain, chain_watch.Cursor(start, start_hash))
