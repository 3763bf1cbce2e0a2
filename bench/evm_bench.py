"""EVM watcher bench: catch-up throughput against a bare AsyncWeb3 loop, and matching cost vs allocated addresses.

Starts its own fresh anvil node and database; run `python bench/evm_bench.py [--blocks 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import json
import os
import pstats
import random
import shutil
import signal
import statistics
import sys
import time
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from web3 import AsyncWeb3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database, reset_watch_state  # noqa: E402
from coinvoice.addresses.derive import derive_address  # noqa: E402
from coinvoice.chains.evm.adapter import TRANSFER_TOPIC, EvmAdapter, use_session, web3_client  # noqa: E402
from coinvoice.chains.follower import BLOCK_BATCH, BlockFollower  # noqa: E402
from coinvoice.config import load_settings  # noqa: E402
from coinvoice.db.pool import create_pool  # noqa: E402
from coinvoice.domain.chains import CHAINS  # noqa: E402
from coinvoice.services import deposits  # noqa: E402
from tests.conftest import TEST_ENV, TPUB  # noqa: E402
from tests.support.anvil import AnvilNode, start_anvil  # noqa: E402

CHAIN = "ethereum"
TOKEN = "usdterc20"
TOKEN_DECIMALS = 6
PAID_INVOICES = 400  # allocated addresses that some transfers pay: half eth invoices, half usdterc20 ones
POOL_ADDRESSES = 5000  # payees of the filler transfers (never allocated)
TOKEN_GAS = 100_000
ETH_GAS = 21_000
ETH_DUE = 3 * 10**16  # an eth invoice's due amount (0.03 ETH); each paying transfer sends a third
TOKEN_DUE = 30 * 10**TOKEN_DECIMALS  # a usdterc20 invoice's due amount (30 USDT)
MATCH_REPEATS = 5  # each block's matching is timed this many times (the machine is noisy)
PROFILE = os.environ.get("EVM_BENCH_PROFILE") == "1"  # cProfile the follower's rounds
PROFILE_FILTER = os.environ.get("EVM_BENCH_PROFILE_FILTER", "")  # a regex of the lines to print, e.g. coinvoice


# --- building the chain -------------------------------------------------------------------------------------


def rpc_batch(node: AnvilNode, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """One JSON-RPC batch over HTTP; the results in call order (an error raises)."""
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
    request = urllib.request.Request(node.rpc_url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = sorted(json.loads(response.read()), key=lambda r: r["id"])
    for reply in replies:
        if reply.get("error"):
            raise RuntimeError(f"anvil batch: {reply['error']}")
    return [r["result"] for r in replies]


def transfer_data(to: str, amount: int) -> str:
    """ABI calldata of ERC-20 transfer(to, amount), built by hand (no web3 per transaction)."""
    return "0xa9059cbb" + to[2:].lower().rjust(64, "0") + hex(amount)[2:].rjust(64, "0")


def build_chain(
    node: AnvilNode,
    token: str,
    shape: argparse.Namespace,
    payees: list[str],
    eth_paid: list[str],
    token_paid: list[str],
) -> None:
    """``shape.blocks`` blocks of ``shape.txs`` token transfers and ``shape.eths`` ETH transfers each.

    ``shape.paying`` of each block's transfers pay an allocated invoice address, alternately a usdterc20
    invoice (a token transfer) and an eth invoice (an ETH transfer), a third of its due amount each time:
    invoices go pending, wrong (underpaid), done, then stay done (overpaid). The others pay addresses that
    were never allocated. Sent from anvil's dev accounts: automine off, each block's transactions in one
    JSON-RPC batch with their nonces set, then evm_mine.
    """
    senders = [a.address for a in node.accounts]
    for sender in senders:
        node.mint(token, sender, 10**30)
    node.set_automine(False)
    nonces = {s: int(node.rpc("eth_getTransactionCount", s, "pending"), 16) for s in senders}
    rng = random.Random(7)
    paid_token = itertools.cycle(token_paid)
    paid_eth = itertools.cycle(eth_paid)
    sender_cycle = itertools.cycle(senders)
    payments = itertools.count()
    try:
        for b in range(shape.blocks):
            token_to = [(rng.choice(payees), 12_345) for _ in range(shape.txs)]
            eth_to = [(rng.choice(payees), 10**12) for _ in range(shape.eths)]
            for j in range(shape.paying):
                if next(payments) % 2 == 0:
                    token_to[j] = (next(paid_token), TOKEN_DUE // 3)
                else:
                    eth_to[j] = (next(paid_eth), ETH_DUE // 3)
            txs = [{"to": token, "data": transfer_data(to, amount), "gas": hex(TOKEN_GAS)} for to, amount in token_to]
            txs += [{"to": to, "value": hex(wei), "gas": hex(ETH_GAS)} for to, wei in eth_to]
            calls = []
            for tx in txs:
                sender = next(sender_cycle)
                tx.update({"from": sender, "nonce": hex(nonces[sender])})
                nonces[sender] += 1
                calls.append(("eth_sendTransaction", [tx]))
            rpc_batch(node, calls)
            node.rpc("evm_mine")
            if b % 250 == 249:
                print(f"  built {b + 1}/{shape.blocks} blocks", flush=True)
    finally:
        node.set_automine(True)
    mined = len(node.block()["transactions"])
    if mined != shape.txs + shape.eths:
        raise RuntimeError(f"the last block holds {mined} transactions, not {shape.txs + shape.eths}")


# --- the database ---------------------------------------------------------------------------------------------


async def setup_invoices(pool, paid: list[str], code: str, decimals: int, due: int, company: uuid.UUID) -> None:
    """One pending ``code`` invoice per paid address."""
    await pool.execute(
        "WITH a AS (SELECT unnest($2::text[]) AS address),"
        " inv AS (INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, payment_currency,"
        "   filled_at, expires_at)"
        "  SELECT gen_random_uuid(), $1, 'pending', 'eur', '[]', 10, $3, now(), now() + interval '1 day'"
        "    FROM a RETURNING id),"
        " numbered AS (SELECT id, row_number() OVER () AS n FROM inv),"
        " addr AS (SELECT address, row_number() OVER () AS n FROM a),"
        " q AS (INSERT INTO quotes (invoice_id, asset, decimals, rate, fee_units, due_units, rate_source)"
        "  SELECT id, $3, $4, 1, 0, $5, 'bench' FROM numbered)"
        " INSERT INTO addresses (id, chain, address, company_id, invoice_id)"
        " SELECT gen_random_uuid(), $6, addr.address, $1, numbered.id"
        "   FROM numbered JOIN addr USING (n)",
        company,
        paid,
        code,
        decimals,
        due,
        CHAIN,
    )


async def add_addresses(pool, company: uuid.UUID, count: int) -> None:
    """Allocate ``count`` more (synthetic, never paid) addresses, each with its own invoice."""
    step = 100_000
    for start in range(0, count, step):
        n = min(step, count - start)
        await pool.execute(
            "WITH inv AS (INSERT INTO invoices (id, company_id, status, invoice_currency, items, total)"
            "  SELECT gen_random_uuid(), $1, 'created', 'eur', '[]', 1 FROM generate_series(1, $2) RETURNING id)"
            " INSERT INTO addresses (id, chain, address, company_id, invoice_id)"
            " SELECT gen_random_uuid(), $3, '0x' || substr(md5(id::text) || md5(id::text || 'x'), 1, 40), $1, id"
            "   FROM inv",
            company,
            n,
            CHAIN,
        )
    await pool.execute("ANALYZE addresses")


# --- the two catch-ups ----------------------------------------------------------------------------------------


async def bare_fetch(w3: AsyncWeb3, first: int, last: int, batch: int, trace: bool) -> tuple[int, int]:
    """What any catch-up must do at least: the same node calls over the same blocks in the same batches.

    Per batch: eth_getBlockByNumber(h, full) for each height at once, one eth_getLogs with the Transfer topic
    over the batch (and trace_block per height when the follower traces too). Nothing else.
    """
    txs = logs = 0
    for start in range(first, last + 1, batch):
        end = min(start + batch - 1, last)
        heights = range(start, end + 1)
        blocks = await asyncio.gather(*(w3.eth.get_block(h, True) for h in heights))
        found = await w3.eth.get_logs({"fromBlock": start, "toBlock": end, "topics": [TRANSFER_TOPIC]})
        if trace:
            await asyncio.gather(*(w3.provider.make_request("trace_block", [hex(h)]) for h in heights))
        txs += sum(len(b["transactions"]) for b in blocks)
        logs += len(found)
    return txs, logs


async def run(args: argparse.Namespace) -> None:
    node = start_anvil(extra_args=["--prune-history"])  # no states on disk; traces are kept with the blocks
    try:
        token = node.deploy("TestToken", "Tether USD", "USDT", TOKEN_DECIMALS)
        paid = [derive_address(CHAIN, "regtest", TPUB, i) for i in range(PAID_INVOICES)]
        eth_paid, token_paid = paid[::2], paid[1::2]
        rng = random.Random(11)
        payees = [AsyncWeb3.to_checksum_address(rng.randbytes(20)) for _ in range(POOL_ADDRESSES)]
        t0 = time.perf_counter()
        print(
            f"building {args.blocks} blocks x ({args.txs} token + {args.eths} ETH transfers, {args.paying} paying"
            " an invoice) on a fresh anvil ..."
        )
        build_chain(node, token, args, payees, eth_paid, token_paid)
        tip = node.block_number()
        first = tip - args.blocks + 1
        print(f"  built in {time.perf_counter() - t0:.0f} s; blocks {first}..{tip}")
        settings = load_settings({**TEST_ENV, "COINVOICE_DATA_DIR": str(ROOT / ".data" / "bench")})
        chains = dict(settings.chains)
        chains[CHAIN] = replace(
            settings.chain(CHAIN),
            network="regtest",
            rpc_url=node.rpc_url,
            chain_id=node.chain_id,
            internal_transfers=args.trace,
        )
        settings = replace(
            settings,
            chains=chains,
            confirmations={**settings.confirmations, "eth": 1, TOKEN: 1},
            token_contracts={**settings.token_contracts, TOKEN: token},
        )
        async with fresh_database() as dsn, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            pool = await create_pool(dsn, min_size=2, max_size=4)
            try:
                company = uuid.uuid4()
                await pool.execute("INSERT INTO companies (id, name) VALUES ($1, 'bench')", company)
                await setup_invoices(pool, eth_paid, "eth", 18, ETH_DUE, company)
                await setup_invoices(pool, token_paid, TOKEN, TOKEN_DECIMALS, TOKEN_DUE, company)
                await pool.execute("ANALYZE")
                await throughput(pool, http, settings, node, first, tip, args.rounds, args.trace)
                await matching(pool, http, settings, company, first, min(tip, first + 49), args.sizes)
            finally:
                await pool.close()
    finally:
        if node.pid is not None:
            os.kill(node.pid, signal.SIGKILL)  # no state dump on the way out (stop() would write one)
        node.stop()
        shutil.rmtree(node.datadir, ignore_errors=True)


class CpuMeter:
    """CPU seconds used by this process, the node and the database's backends (when the server is local)."""

    def __init__(self, pool, node: AnvilNode) -> None:
        self._pool = pool
        self._node_pid = node.pid
        self._tick = os.sysconf("SC_CLK_TCK")

    def _of(self, pid: int | None) -> float:
        if pid is None:
            return 0.0
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    async def sample(self) -> tuple[float, float, dict[int, float]]:
        pids = await self._pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return time.process_time(), self._of(self._node_pid), {r["pid"]: self._of(r["pid"]) for r in pids}

    async def since(self, before: tuple[float, float, dict[int, float]]) -> tuple[float, float, float]:
        """(bench process, node, database) CPU seconds since ``before``."""
        ours, node, db = await self.sample()
        return ours - before[0], node - before[1], sum(v - before[2].get(pid, 0.0) for pid, v in db.items())


async def throughput(
    pool, http: aiohttp.ClientSession, settings, node: AnvilNode, first: int, tip: int, rounds: int, trace: bool
) -> None:
    ratios, bare_times, follow_times, bare_cpu, follow_cpu = [], [], [], [], []
    n_blocks = tip - first + 1
    meter = CpuMeter(pool, node)
    w3 = web3_client(node.rpc_url)  # the adapter's client, on the same kept-alive session as the adapter
    await use_session(w3, http)
    await bare_fetch(w3, first, min(first + 49, tip), BLOCK_BATCH, trace)  # warm the node and the client
    for r in range(rounds):
        cpu = await meter.sample()
        t = time.perf_counter()
        n_txs, n_logs = await bare_fetch(w3, first, tip, BLOCK_BATCH, trace)
        bare_times.append(time.perf_counter() - t)
        bare_cpu.append(await meter.since(cpu))
        await reset_watch_state(pool, CHAIN, first - 1, node.block(first - 1)["hash"])
        follower = BlockFollower(EvmAdapter.from_settings(CHAINS[CHAIN], settings, http), settings, pool)
        profiler = cProfile.Profile() if PROFILE else None
        cpu = await meter.sample()
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        await follower.poll()
        follow_times.append(time.perf_counter() - t)
        if profiler:
            profiler.disable()
        follow_cpu.append(await meter.since(cpu))
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(PROFILE_FILTER, 40)
        await follower.close()
        height = await pool.fetchval("SELECT height FROM chain_cursors WHERE chain = $1", CHAIN)
        if follower.misconfigured or height != tip:
            raise RuntimeError(f"the follower stopped at {height}, not {tip}: {follower.misconfigured}")
        ratios.append(bare_times[-1] / follow_times[-1])
        print(
            f"  round {r + 1}: bare {n_blocks / bare_times[-1]:6.1f} blocks/s, follower"
            f" {n_blocks / follow_times[-1]:6.1f} blocks/s, ratio {ratios[-1]:.2f}",
            flush=True,
        )
    deposits_n = await pool.fetchval("SELECT count(*) FROM deposits")
    statuses = dict(await pool.fetch("SELECT status, count(*) FROM invoices GROUP BY status"))
    events = await pool.fetchval("SELECT count(*) FROM events")
    print(
        f"\ncatch-up over {n_blocks} blocks, {n_txs} transactions, {n_logs} Transfer logs"
        f" (internal transfers {'traced' if trace else 'off'}): {deposits_n} deposits, {events} events,"
        f" invoices {', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}"
    )

    def cpu_line(samples: list[tuple[float, float, float]]) -> str:
        ours, node_, db = (statistics.median(s[i] for s in samples) * 1000 / n_blocks for i in range(3))
        return f"CPU ms/block: bench {ours:4.1f} + node {node_:4.1f} + database {db:4.1f}"

    # On a machine whose cores are all busy, wall time follows the CPU time all three processes need.
    cpu_ratios = [sum(b) / sum(f) for b, f in zip(bare_cpu, follow_cpu, strict=True)]

    bare_best, follow_best = min(bare_times), min(follow_times)
    print(
        f"  bare AsyncWeb3 loop: {n_blocks / bare_best:7.1f} blocks/s {n_txs / bare_best:7.0f} tx/s"
        f"   {cpu_line(bare_cpu)}"
    )
    print(
        f"  follower catch-up:   {n_blocks / follow_best:7.1f} blocks/s {n_txs / follow_best:7.0f} tx/s"
        f"   {cpu_line(follow_cpu)}"
    )
    print(
        f"  ratio follower/bare (median of {rounds} rounds): {statistics.median(ratios):.2f}"
        f"  (min {min(ratios):.2f}, max {max(ratios):.2f}; aim >= 0.8)"
    )
    print(
        f"  CPU time bare/follower, bench + node + database (median): {statistics.median(cpu_ratios):.2f}"
        f"  (min {min(cpu_ratios):.2f}, max {max(cpu_ratios):.2f})"
    )


async def matching(
    pool, http: aiohttp.ClientSession, settings, company: uuid.UUID, first: int, last: int, sizes: list[int]
) -> None:
    adapter = EvmAdapter.from_settings(CHAINS[CHAIN], settings, http)
    blocks = []
    for start in range(first, last + 1, BLOCK_BATCH):
        blocks.extend(await adapter.fetch_blocks(start, min(start + BLOCK_BATCH - 1, last)))
    per_block = statistics.mean(len(b.addresses) for b in blocks)
    have = await pool.fetchval("SELECT count(*) FROM addresses")
    print(f"\nmatching one block's recipient addresses ({per_block:.0f} addresses/block, {len(blocks)} blocks):")
    base = None
    for size in sizes:
        if size > have:
            t = time.perf_counter()
            await add_addresses(pool, company, size - have)
            print(f"  (allocated {size - have:,} more addresses in {time.perf_counter() - t:.0f} s)", flush=True)
            have = size
        async with pool.acquire() as conn:
            for _ in range(2):  # warm the cache and the prepared statement
                for block in blocks:
                    await deposits.match_addresses(conn, CHAIN, block.addresses)
            times: list[list[float]] = [[] for _ in blocks]
            for _ in range(MATCH_REPEATS):
                matched = 0
                for i, block in enumerate(blocks):
                    t = time.perf_counter()
                    rows = await deposits.match_addresses(conn, CHAIN, block.addresses)
                    times[i].append(time.perf_counter() - t)
                    matched += len(rows)
        ms = statistics.median(min(per) for per in times) * 1000  # each block's best of the repeats
        base = base or ms
        print(f"  {size:>9,} allocated addresses: {ms:6.2f} ms/block (x{ms / base:.2f}), {matched} matched")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--txs", type=int, default=20, help="ERC-20 transfers per block")
    parser.add_argument("--eths", type=int, default=3, help="ETH transfers per block")
    parser.add_argument(
        "--paying", type=int, default=1, help="transfers per block that pay an invoice (alternately token and ETH)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1000,100000,1000000", help="allocated address counts")
    parser.add_argument(
        "--trace", action="store_true", help="internal transfers on: trace_block per block in both loops"
    )
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if not 0 <= args.paying <= min(args.txs, args.eths):
        parser.error("--paying must be between 0 and the smaller of --txs and --eths")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
