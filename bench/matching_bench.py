"""Per-block address matching cost against the number of allocated addresses (1k, 100k, 1M by default).

Each "block" is 600 output addresses nobody allocated plus 7 allocated ones, matched the block follower's way
(chains/allocated.py: AllocatedAddresses.match: refresh the in-memory set, pick the candidates, look them up in
one query), a refresh per block (the follower refreshes once per batch of up to 10). Printed per size: the
median time per block over the rounds (with its range) and its ratio to the smallest size; the same for the
former way, every output address in the query (db/chain_watch.py: match_addresses), with the shared-buffer
pages that query touched per block (EXPLAIN: noise-free); the time to load the set from PostgreSQL, its size
and the process RSS after loading it. Building 1M addresses takes a few minutes on a 2-core machine.
Run: .venv/bin/python -m bench.matching_bench [--sizes 1000,100000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from typing import Any

from bench.common import fresh_database
from bench.watcher_bench import add_addresses
from coinvoice.chains.allocated import AllocatedAddresses
from coinvoice.db import chain_watch
from coinvoice.db.pool import create_pool

CHAIN = "litecoin"
OUTPUTS, PAID, BLOCKS = 600, 7, 50


def _buffers(plan: Any) -> int:
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


async def _time_blocks(pool, blocks: list[list[str]], rounds: int, match) -> list[float]:
    """Median milliseconds per block, one value per round."""
    out = []
    async with pool.acquire() as conn:
        for _ in range(2):  # warm the cache and the prepared statements
            for block in blocks:
                found = await match(conn, block)
                assert len(found) == PAID, len(found)
        for _ in range(rounds):
            times = []
            for block in blocks:
                t = time.perf_counter()
                await match(conn, block)
                times.append(time.perf_counter() - t)
            out.append(statistics.median(times) * 1000)
    return out


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def _load(pool) -> tuple[AllocatedAddresses, float]:
    allocated = AllocatedAddresses(CHAIN)
    async with pool.acquire() as conn:
        t = time.perf_counter()
        await allocated.refresh(conn)
    return allocated, time.perf_counter() - t


async def _pages_per_block(pool, block: list[str]) -> int:
    plan = await pool.fetchval(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + chain_watch.MATCH_ADDRESSES_SQL, CHAIN, block
    )
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return _buffers(plan[0]["Plan"])


async def run(sizes: list[int], rounds: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    results = []
    async with fresh_database() as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        company = uuid.uuid4()
        await pool.execute("INSERT INTO companies (id, name) VALUES ($1, 'bench')", company)
        have = 0
        for size in sorted(sizes):
            await add_addresses(pool, company, size - have)
            have = size
            known = [
                r["address"] for r in await pool.fetch("SELECT address FROM addresses ORDER BY random() LIMIT 200")
            ]
            blocks = [
                [f"rltc1qnone{rng.getrandbits(128):032x}" for _ in range(OUTPUTS)] + rng.sample(known, PAID)
                for _ in range(BLOCKS)
            ]
            rss_before = _rss_mb()
            allocated, load_s = await _load(pool)
            rss_after = _rss_mb()
            assert allocated.size == size, allocated.size
            filtered = await _time_blocks(pool, blocks, rounds, allocated.match)
            query = await _time_blocks(pool, blocks, rounds, _query_all)
            results.append(
                {
                    "size": size,
                    "ms": filtered,
                    "query_ms": query,
                    "pages": await _pages_per_block(pool, blocks[0]),
                    "load_s": load_s,
                    "set_mb": allocated.nbytes / 2**20,
                    "rss_mb": (rss_before, rss_after),
                }
            )
            del allocated
        await pool.close()
    return results


async def _query_all(conn, block: list[str]) -> list[Any]:
    return await chain_watch.match_addresses(conn, CHAIN, block)


def report(results: list[dict[str, Any]]) -> list[str]:
    base = results[0]
    base_ms, base_query, base_pages = statistics.median(base["ms"]), statistics.median(base["query_ms"]), base["pages"]
    lines = [
        f"matching one block ({OUTPUTS + PAID} output addresses, {PAID} allocated), median of rounds [range]:",
        "  in-memory set, then the candidates in PostgreSQL (the block follower):",
    ]
    for r in results:
        ms = statistics.median(r["ms"])
        lines.append(
            f"  {r['size']:>9,} allocated: {ms:5.2f} ms/block [{min(r['ms']):.2f}-{max(r['ms']):.2f}]"
            f" x{ms / base_ms:.2f}; set loaded in {r['load_s']:.2f} s, {r['set_mb']:.1f} MB,"
            f" process RSS {r['rss_mb'][0]:.0f} -> {r['rss_mb'][1]:.0f} MB"
        )
    lines.append("  every output address in the query (the former way), for comparison:")
    for r in results:
        ms = statistics.median(r["query_ms"])
        lines.append(
            f"  {r['size']:>9,} allocated: {ms:5.2f} ms/block [{min(r['query_ms']):.2f}-{max(r['query_ms']):.2f}]"
            f" x{ms / base_query:.2f}; {r['pages']} buffer pages x{r['pages'] / base_pages:.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(run([int(s) for s in args.sizes.split(",")], args.rounds))
    print("\n".join(report(results)))


if __name__ == "__main__":
    main()
