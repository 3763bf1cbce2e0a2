"""TRON watcher bench: catch-up over 1,000+ blocks with TRC-20 traffic against a bare aiohttp loop making the same
calls (getblockbylimitnext per batch, gettransactioninfobyblocknum per block) with the same session.

The chain is built on the stand-in of a java-tron FullNode (tests/support/tron_standin.py) from transactions
built and signed offline with tronpy, then served from a separate process on 127.0.0.1, so the node's own work
does not share the measured process. Run: .venv/bin/python bench/tron_bench.py [--blocks 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing
import os
import pstats
import random
import statistics
import sys
import time
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tronpy import Tron  # noqa: E402
from tronpy.contract import Contract  # noqa: E402
from tronpy.keys import PrivateKey, to_base58check_address  # noqa: E402
from tronpy.providers import HTTPProvider  # noqa: E402

from bench.common import free_port, fresh_database  # noqa: E402
from coinvoice.chains.follower import BLOCK_BATCH, BlockFollower  # noqa: E402
from coinvoice.chains.tron.adapter import TronAdapter  # noqa: E402
from coinvoice.chains.tron.http import TronHttp  # noqa: E402
from coinvoice.config import ChainSettings, load_settings  # noqa: E402
from coinvoice.db import chain_watch  # noqa: E402
from coinvoice.db.pool import create_pool  # noqa: E402
from coinvoice.domain.chains import CHAINS  # noqa: E402
from tests.conftest import TEST_ENV  # noqa: E402
from tests.support.tron_standin import TronLedger, TronStandin  # noqa: E402
from tests.support.tron_wallet import TRC20_TRANSFER_ABI  # noqa: E402

CHAIN = "tron"
PAYEES = 20_000  # recipients of the traffic that is not ours
PAID_INVOICES = 300  # allocated addresses that some transfers pay
PROFILE = os.environ.get("TRON_BENCH_PROFILE") == "1"


def random_address(rng: random.Random) -> str:
    return to_base58check_address("41" + rng.randbytes(20).hex())


def build_chain(blocks: int, txs: int, paid_every: int, paid: list[str]) -> tuple[TronLedger, str]:
    """``blocks`` blocks of ``txs`` transactions each: four in five TRC-20 transfers (three of the configured USDT,
    one of another token), the rest TRX; one in ``paid_every`` pays an invoice address. One sender per slot,
    every transaction built and signed offline with tronpy."""
    rng = random.Random(10)
    node = TronStandin(automine=False, initial_blocks=8)
    node.close()  # only its ledger and helpers are used here; a child process serves it
    usdt, other = node.deploy_token("USDT", 6), node.deploy_token("WIN", 6)
    client = Tron(HTTPProvider("http://127.0.0.1:9"))  # never contacted: every build is offline
    senders = [PrivateKey(rng.randbytes(32)) for _ in range(txs)]
    for key in senders:
        address = key.public_key.to_base58check_address()
        node.fund(address, 10**15)
        node.mint(usdt, address, 10**15)
        node.mint(other, address, 10**15)
    tokens = {c: Contract(c, abi=TRC20_TRANSFER_ABI, client=client) for c in (usdt, other)}
    payees = [random_address(rng) for _ in range(PAYEES)]
    ledger = node.ledger
    for b in range(blocks):
        ref = ledger.blocks[-1].id
        for t, key in enumerate(senders):
            owner = key.public_key.to_base58check_address()
            n = b * txs + t
            to = paid[n // paid_every % len(paid)] if n % paid_every == 0 else rng.choice(payees)
            if t % 5 == 4:
                builder = client.trx.transfer(owner, to, rng.randrange(1, 10**8))
            else:
                token = tokens[usdt if t % 5 != 3 else other]
                builder = token.functions.transfer.with_owner(owner)(to, rng.randrange(1, 10**8))
            ledger.accept(builder.build(offline=True, ref_block_id=ref).sign(key).to_json())
        ledger.mine()
        if b % 100 == 99:
            print(f"  built {b + 1}/{blocks} blocks", flush=True)
    return ledger, usdt


def serve(ledger: TronLedger, port: int) -> None:
    """The node process: the stand-in over the prebuilt ledger until it is terminated."""
    TronStandin(ledger=ledger, port=port).start()
    while True:
        time.sleep(3600)


async def setup_invoices(pool, paid: list[str]) -> None:
    """A company and one pending trc20usdt invoice per paid address."""
    company = uuid.uuid4()
    await pool.execute("INSERT INTO companies (id, name) VALUES ($1, 'bench')", company)
    await pool.execute(
        "WITH a AS (SELECT unnest($2::text[]) AS address),"
        " inv AS (INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, payment_currency,"
        "   filled_at, expires_at)"
        "  SELECT gen_random_uuid(), $1, 'pending', 'eur', '[]', 10, 'trc20usdt', now(), now() + interval '1 day'"
        "    FROM a RETURNING id),"
        " numbered AS (SELECT id, row_number() OVER () AS n FROM inv),"
        " addr AS (SELECT address, row_number() OVER () AS n FROM a),"
        " q AS (INSERT INTO quotes (invoice_id, asset, decimals, rate, fee_units, due_units, rate_source)"
        "  SELECT id, 'trc20usdt', 6, 1.08, 0, 10800000, 'bench' FROM numbered)"
        " INSERT INTO addresses (id, chain, address, company_id, invoice_id)"
        " SELECT gen_random_uuid(), 'tron', addr.address, $1, numbered.id"
        "   FROM numbered JOIN addr USING (n)",
        company,
        paid,
    )


async def reset_watch_state(pool, start: int, start_id: str) -> None:
    await pool.execute("DELETE FROM events WHERE type <> 'invoice.created'")
    await pool.execute("DELETE FROM deposits")
    await pool.execute("DELETE FROM chain_blocks")
    await pool.execute("UPDATE invoices SET status = 'pending' WHERE status <> 'created'")
    async with pool.acquire() as conn:
        await chain_watch.rewind_cursor(conn, CHAIN, chain_watch.Cursor(start, start_id))


async def bare_fetch(session: aiohttp.ClientSession, url: str, first: int, last: int) -> int:
    """What any catch-up must do at least: the same requests in the same batches, each answer decoded."""

    async def post(path: str, body: dict) -> object:
        async with session.post(url + path, data=json.dumps(body).encode()) as response:
            return json.loads(await response.read(), parse_float=Decimal)

    txs = 0
    for start in range(first, last + 1, BLOCK_BATCH):
        end = min(start + BLOCK_BATCH - 1, last)
        ranged, *_infos = await asyncio.gather(
            post("/wallet/getblockbylimitnext", {"startNum": start, "endNum": end + 1}),
            *(post("/wallet/gettransactioninfobyblocknum", {"num": h}) for h in range(start, end + 1)),
        )
        txs += sum(len(b.get("transactions", ())) for b in ranged["block"])
    return txs


async def adapter_fetch(session: aiohttp.ClientSession, url: str, usdt: str, first: int, last: int) -> int:
    """The TRON adapter's own part of a catch-up, without the follower's database work: the same batches."""
    adapter = TronAdapter(CHAINS[CHAIN], TronHttp(url, session), tokens={"trc20usdt": usdt})
    count = 0
    for start in range(first, last + 1, BLOCK_BATCH):
        count += len(await adapter.fetch_blocks(start, min(start + BLOCK_BATCH - 1, last)))
    return count


async def run(blocks: int, txs: int, paid_every: int, rounds: int) -> None:
    rng = random.Random(11)
    paid = [random_address(rng) for _ in range(PAID_INVOICES)]
    t0 = time.perf_counter()
    print(f"building {blocks} blocks x {txs} signed transactions on the TRON stand-in ...", flush=True)
    ledger, usdt = build_chain(blocks, txs, paid_every, paid)
    tip = len(ledger.blocks) - 1
    first = tip - blocks + 1
    start_id = ledger.blocks[first - 1].id
    print(f"  built in {time.perf_counter() - t0:.0f} s; blocks {first}..{tip}", flush=True)
    port = free_port()
    node = multiprocessing.get_context("fork").Process(target=serve, args=(ledger, port), daemon=True)
    node.start()
    url = f"http://127.0.0.1:{port}"
    try:
        settings = load_settings({**TEST_ENV, "COINVOICE_DATA_DIR": str(ROOT / ".data" / "bench")})
        chain_settings = ChainSettings(network="testnet", rpc_url=url, max_requests_per_second=0)
        settings = replace(settings, chains={CHAIN: chain_settings}, token_contracts={"trc20usdt": usdt})
        async with fresh_database() as dsn, aiohttp.ClientSession() as session:
            await wait_for(session, url)
            pool = await create_pool(dsn, min_size=2, max_size=4)
            await setup_invoices(pool, paid)
            await pool.execute("ANALYZE")
            ratios, bare_times, watch_times, fetch_times = [], [], [], []
            for _ in range(rounds):
                t = time.perf_counter()
                n_txs = await bare_fetch(session, url, first, tip)
                bare_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                await adapter_fetch(session, url, usdt, first, tip)
                fetch_times.append(time.perf_counter() - t)
                await reset_watch_state(pool, first - 1, start_id)
                adapter = TronAdapter(CHAINS[CHAIN], TronHttp(url, session), tokens={"trc20usdt": usdt})
                watcher = BlockFollower(adapter, settings, pool)
                profiler = cProfile.Profile() if PROFILE else None
                t = time.perf_counter()
                if profiler:
                    profiler.enable()
                await watcher.poll()
                watch_times.append(time.perf_counter() - t)
                if profiler:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
                await watcher.close()
                ratios.append(bare_times[-1] / watch_times[-1])
            deposits = await pool.fetchval("SELECT count(*) FROM deposits")
            credited = await pool.fetchval("SELECT count(*) FROM deposits WHERE credited")
            assert await pool.fetchval("SELECT height FROM chain_cursors WHERE chain = $1", CHAIN) == tip
            await pool.close()
    finally:
        node.terminate()
        node.join(10)
    print(f"\ncatch-up over {blocks} blocks, {n_txs} transactions; {deposits} deposits ({credited} credited)")
    print(f"  bare aiohttp loop: {blocks / min(bare_times):8.1f} blocks/s  {n_txs / min(bare_times):8.0f} tx/s")
    print(f"  adapter, no DB:    {blocks / min(fetch_times):8.1f} blocks/s  (fetch and recipients only)")
    print(f"  watcher catch-up:  {blocks / min(watch_times):8.1f} blocks/s  {n_txs / min(watch_times):8.0f} tx/s")
    adapter_ratio = statistics.median(b / f for b, f in zip(bare_times, fetch_times, strict=True))
    print(f"  ratio adapter alone/bare (median): {adapter_ratio:.2f}")
    print(f"  ratio watcher/bare (median of {rounds} rounds): {statistics.median(ratios):.2f}  (aim >= 0.8)")


async def wait_for(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with session.post(url + "/wallet/getnowblock", data=b"{}") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the stand-in process did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=1000)
    parser.add_argument("--txs", type=int, default=200, help="transactions per block (TRON mainnet: a few hundred)")
    parser.add_argument("--paid-every", type=int, default=1000, help="one transaction in this many pays an invoice")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.blocks, args.txs, args.paid_every, args.rounds))


if __name__ == "__main__":
    main()
