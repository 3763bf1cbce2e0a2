"""UTXO watcher bench: catch-up throughput against a bare RPC fetch loop, and matching cost vs allocated addresses.

Starts its own fresh litecoind regtest node and database; run `python bench/watcher_bench.py [--blocks 300]`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import shutil
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

from bench.common import fresh_database, reset_watch_state  # noqa: E402
from coinvoice.addresses.derive import derive_address  # noqa: E402
from coinvoice.chains.utxo.blocks import parse_block  # noqa: E402
from coinvoice.chains.utxo.params import utxo_params  # noqa: E402
from coinvoice.chains.utxo.rpc import BitcoinRpc  # noqa: E402
from coinvoice.chains.utxo.watcher import BLOCK_BATCH, UtxoWatcher  # noqa: E402
from coinvoice.config import ChainSettings, load_settings  # noqa: E402
from coinvoice.db import chain_watch  # noqa: E402
from coinvoice.db.pool import create_pool  # noqa: E402
from tests.conftest import TEST_ENV, TPUB  # noqa: E402
from tests.support.litecoind import MINER_WALLET, LitecoinNode, start_litecoind  # noqa: E402

CHAIN = "litecoin"
PARAMS = utxo_params(CHAIN, "regtest")
POOL_ADDRESSES = 3000  # payees of the filler transactions
PAID_INVOICES = 300  # allocated addresses that some outputs pay
PROFILE = os.environ.get("WATCHER_BENCH_PROFILE") == "1"


def build_chain(node: LitecoinNode, blocks: int, txs: int, outputs: int, payees: list[str], paid: list[str]) -> None:
    """``blocks`` blocks of ``txs`` transactions with ``outputs`` outputs each; one transaction in three also pays
    an allocated invoice address. Signed with a key (no wallet work per transaction): ``txs`` independent chains
    of coins, each spent once per block."""
    node.mine(150)  # mature coinbase coins to fund the chains
    own = node.rpc("getnewaddress", "", "bech32", wallet=MINER_WALLET)
    key = node.rpc("dumpprivkey", own, wallet=MINER_WALLET)
    script = node.rpc("getaddressinfo", own, wallet=MINER_WALLET)["scriptPubKey"]
    coins = []
    for _ in range(txs):
        txid = node.rpc("sendtoaddress", own, "40", wallet=MINER_WALLET)
        vout = next(o["n"] for o in node.rpc("getrawtransaction", txid, True)["vout"] if o["value"] == Decimal(40))
        coins.append((txid, vout, Decimal(40)))
    node.mine(1)
    rng = random.Random(7)
    fee = Decimal("0.001")
    for b in range(blocks):
        for t in range(txs):
            txid, vout, amount = coins[t]
            pay = {a: Decimal("0.0001") for a in rng.sample(payees, outputs)}
            if t % 3 == 0:
                pay[paid[(b * txs + t) % len(paid)]] = Decimal("0.001")
            change = amount - sum(pay.values()) - fee
            out = [{a: str(v)} for a, v in pay.items()] + [{own: str(change)}]
            raw = node.rpc("createrawtransaction", [{"txid": txid, "vout": vout}], out)
            prev = [{"txid": txid, "vout": vout, "scriptPubKey": script, "amount": str(amount)}]
            signed = node.rpc("signrawtransactionwithkey", raw, [key], prev)
            coins[t] = (node.rpc("sendrawtransaction", signed["hex"]), len(out) - 1, change)
        node.mine(1)
        if b % 50 == 49:
            print(f"  built {b + 1}/{blocks} blocks", flush=True)


async def setup_invoices(pool, paid: list[str]) -> uuid.UUID:
    """A company and one pending ltc invoice per paid address."""
    company = uuid.uuid4()
    await pool.execute("INSERT INTO companies (id, name) VALUES ($1, 'bench')", company)
    await pool.execute(
        "WITH a AS (SELECT unnest($2::text[]) AS address),"
        " inv AS (INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, payment_currency,"
        "   filled_at, expires_at)"
        "  SELECT gen_random_uuid(), $1, 'pending', 'eur', '[]', 10, 'ltc', now(), now() + interval '1 day'"
        "    FROM a RETURNING id),"
        " numbered AS (SELECT id, row_number() OVER () AS n FROM inv),"
        " addr AS (SELECT address, row_number() OVER () AS n FROM a),"
        " q AS (INSERT INTO quotes (invoice_id, asset, decimals, rate, fee_units, due_units, rate_source)"
        "  SELECT id, 'ltc', 8, 0.0125, 0, 100000, 'bench' FROM numbered)"
        " INSERT INTO addresses (id, chain, address, company_id, invoice_id)"
        " SELECT gen_random_uuid(), 'litecoin', addr.address, $1, numbered.id"
        "   FROM numbered JOIN addr USING (n)",
        company,
        paid,
    )
    return company


async def add_addresses(pool, company: uuid.UUID, count: int) -> None:
    """Allocate ``count`` more (synthetic, never paid) addresses, each with its own invoice."""
    step = 100_000
    for start in range(0, count, step):
        n = min(step, count - start)
        await pool.execute(
            "WITH inv AS (INSERT INTO invoices (id, company_id, status, invoice_currency, items, total)"
            "  SELECT gen_random_uuid(), $1, 'created', 'eur', '[]', 1 FROM generate_series(1, $2) RETURNING id)"
            " INSERT INTO addresses (id, chain, address, company_id, invoice_id)"
            " SELECT gen_random_uuid(), 'litecoin', 'rltc1qbench' || md5(id::text), $1, id FROM inv",
            company,
            n,
        )
    await pool.execute("ANALYZE addresses")


async def bare_fetch(rpc: BitcoinRpc, first: int, last: int) -> int:
    """What any catch-up must do at least: fetch the same blocks, in the same batches, with the same client."""
    txs = 0
    for start in range(first, last + 1, BLOCK_BATCH):
        hashes = await rpc.batch([("getblockhash", [h]) for h in range(start, min(start + BLOCK_BATCH, last + 1))])
        for block in await rpc.get_blocks(hashes):
            txs += len(block["tx"])
    return txs


async def run(blocks: int, txs: int, outputs: int, rounds: int, sizes: list[int]) -> None:
    node = start_litecoind()
    try:
        payees = [derive_address(CHAIN, "regtest", TPUB, i) for i in range(POOL_ADDRESSES)]
        paid, payees = payees[:PAID_INVOICES], payees[PAID_INVOICES:]
        t0 = time.perf_counter()
        print(f"building {blocks} blocks x {txs} transactions x {outputs}+ outputs on a fresh litecoind ...")
        build_chain(node, blocks, txs, outputs, payees, paid)
        tip = node.rpc("getblockcount")
        first = tip - blocks + 1
        print(f"  built in {time.perf_counter() - t0:.0f} s; blocks {first}..{tip}")
        settings = load_settings({**TEST_ENV, "COINVOICE_DATA_DIR": str(ROOT / ".data" / "bench")})
        async with fresh_database() as dsn, aiohttp.ClientSession() as session:
            pool = await create_pool(dsn, min_size=2, max_size=4)
            rpc = BitcoinRpc(node.rpc_url, session)
            company = await setup_invoices(pool, paid)
            await pool.execute("ANALYZE")
            await throughput(pool, rpc, settings, node, first, tip, rounds)
            await matching(pool, rpc, company, first, min(tip, first + 49), sizes)
            await pool.close()
    finally:
        node.stop()
        shutil.rmtree(node.datadir, ignore_errors=True)


async def throughput(pool, rpc, settings, node, first: int, tip: int, rounds: int) -> None:
    settings = replace(settings, chains={CHAIN: ChainSettings(network="regtest", rpc_url=node.rpc_url)})
    ratios, bare_times, watch_times = [], [], []
    n_blocks = tip - first + 1
    for _ in range(rounds):
        t = time.perf_counter()
        n_txs = await bare_fetch(rpc, first, tip)
        bare_times.append(time.perf_counter() - t)
        await reset_watch_state(pool, CHAIN, first - 1, await rpc.get_block_hash(first - 1), keep=("invoice.created",))
        watcher = UtxoWatcher(CHAIN, settings, pool, rpc)
        profiler = cProfile.Profile() if PROFILE else None
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        await watcher.poll()
        watch_times.append(time.perf_counter() - t)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        await watcher.close()
        ratios.append(bare_times[-1] / watch_times[-1])
    deposits = await pool.fetchval("SELECT count(*) FROM deposits")
    done = await pool.fetchval("SELECT count(*) FROM invoices WHERE status = 'done'")
    assert await pool.fetchval("SELECT height FROM chain_cursors WHERE chain = $1", CHAIN) == tip
    print(f"\ncatch-up over {n_blocks} blocks, {n_txs} transactions; {deposits} deposits, {done} invoices done")
    print(f"  bare RPC fetch loop: {n_blocks / min(bare_times):8.1f} blocks/s  {n_txs / min(bare_times):8.0f} tx/s")
    print(f"  watcher catch-up:    {n_blocks / min(watch_times):8.1f} blocks/s  {n_txs / min(watch_times):8.0f} tx/s")
    print(f"  ratio watcher/bare (median of {rounds} rounds): {statistics.median(ratios):.2f}  (aim >= 0.8)")


async def matching(pool, rpc, company: uuid.UUID, first: int, last: int, sizes: list[int]) -> None:
    hashes = await rpc.batch([("getblockhash", [h]) for h in range(first, last + 1)])
    parsed = [parse_block(b, PARAMS) for b in await rpc.get_blocks(hashes)]
    outputs = statistics.mean(len(transfers) for _, transfers in parsed)
    have = await pool.fetchval("SELECT count(*) FROM addresses")
    print(f"\nmatching one block's output addresses ({outputs:.0f} outputs/block, {len(parsed)} blocks):")
    base = None
    for size in sizes:
        if size > have:
            await add_addresses(pool, company, size - have)
            have = size
        async with pool.acquire() as conn:
            for _ in range(2):  # warm the cache and the prepared statement
                for _, transfers in parsed:
                    await chain_watch.match_addresses(conn, CHAIN, list({t.address for t in transfers}))
            times, matched = [], 0
            for _, transfers in parsed:
                t = time.perf_counter()
                rows = await chain_watch.match_addresses(conn, CHAIN, list({t.address for t in transfers}))
                times.append(time.perf_counter() - t)
                matched += len(rows)
        per_block = statistics.median(times) * 1000
        base = base or per_block
        print(
            f"  {size:>9,} allocated addresses: {per_block:6.2f} ms/block (x{per_block / base:.2f}), {matched} matched"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=300)
    parser.add_argument("--txs", type=int, default=20, help="sendmany transactions per block")
    parser.add_argument("--outputs", type=int, default=30, help="outputs per transaction")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="1000,100000,1000000", help="allocated address counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    asyncio.run(run(args.blocks, args.txs, args.outputs, args.rounds, sizes))


if __name__ == "__main__":
    main()
