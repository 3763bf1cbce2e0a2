"""The block follower's in-memory set of allocated addresses (chains/allocated.py): an allocation whose
transaction commits after a later one's is still matched, and a new watcher rebuilds the set from PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid

import asyncpg

from coinvoice.chains.allocated import AllocatedAddresses, HashSet64
from coinvoice.db import chain_watch
from coinvoice.db.chain_watch import ALLOCATED_CHUNK
from tests.chains.watch_support import address_of, due, ltc_invoice, make_watcher, view_of


async def _hide(pool: asyncpg.Pool, invoice_id: str) -> asyncpg.Record:
    """Retire the invoice's address row under another name: as if its allocation had not happened yet."""
    return await pool.fetchrow(
        "UPDATE addresses SET address = 'hidden-' || address, retired_at = now()"
        " WHERE invoice_id = $1 RETURNING chain, substr(address, 8) AS address, derivation_index, company_id,"
        " invoice_id",
        uuid.UUID(invoice_id),
    )


async def _allocate(conn: asyncpg.Connection, row: asyncpg.Record) -> int:
    """Allocate the hidden address again in the connection's open transaction; returns that transaction's id."""
    xid = int(await conn.fetchval("SELECT pg_current_xact_id()::text"))
    await conn.execute(
        "INSERT INTO addresses (id, chain, address, derivation_index, company_id, invoice_id)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        uuid.uuid4(),
        row["chain"],
        row["address"],
        row["derivation_index"],
        row["company_id"],
        row["invoice_id"],
    )
    return xid


async def test_an_allocation_committed_after_a_later_one_is_matched(
    api, merchant, pool, litecoind, ltc_settings, session
):
    early, late = await ltc_invoice(api, merchant), await ltc_invoice(api, merchant)
    early_row, late_row = await _hide(pool, early["id"]), await _hide(pool, late["id"])
    watcher = make_watcher(ltc_settings, pool, session, litecoind)
    try:
        await watcher.poll()  # loads every allocated address: neither of the two yet
        async with pool.acquire() as first, pool.acquire() as second:
            slow = first.transaction()
            await slow.start()
            try:
                early_xid = await _allocate(first, early_row)  # the older transaction...
                async with second.transaction():
                    late_xid = await _allocate(second, late_row)
                assert early_xid < late_xid  # ...commits last
                litecoind.mine(1)  # a block to match: the set is refreshed after the later commit, while the
                await watcher.poll()  # older transaction is still open
                found = watcher.allocated.candidates([address_of(early), address_of(late)])
                assert found == [address_of(late)]
            finally:
                await slow.commit()

        for view in (early, late):
            litecoind.send(address_of(view), due(view))
        await watcher.poll()  # the mempool path
        assert [(await view_of(api, v["id"]))["status"] for v in (early, late)] == ["processing", "processing"]
        litecoind.mine(1)
        await watcher.poll()  # the block path
        assert [(await view_of(api, v["id"]))["status"] for v in (early, late)] == ["done", "done"]
    finally:
        await watcher.close()


async def test_a_new_watcher_rebuilds_the_set_from_the_database(
    api, merchant, pool, litecoind, watcher, ltc_settings, session
):
    await watcher.close()  # the old process is gone; an invoice is created meanwhile
    view = await ltc_invoice(api, merchant)
    litecoind.send(address_of(view), due(view))
    litecoind.mine(1)

    restarted = make_watcher(ltc_settings, pool, session, litecoind)
    try:
        assert restarted.allocated.size == 0
        await restarted.poll()
        assert (await view_of(api, view["id"]))["status"] == "done"
        allocated = await pool.fetchval("SELECT count(*) FROM addresses WHERE chain = 'litecoin' AND NOT shared")
        assert restarted.allocated.size == allocated >= 1
    finally:
        await restarted.close()


def test_the_hash_set_finds_every_member_across_merges_and_few_strangers():
    rng = random.Random(5)
    members = [f"ltc1q{rng.getrandbits(160):040x}" for _ in range(20_000)]
    strangers = [f"ltc1q{rng.getrandbits(160):040x}" for _ in range(20_000)]
    held = HashSet64(hash(m) for m in members[:5_000])
    merges = 0
    for start in range(5_000, 20_000, 700):  # recent additions, merged into the sorted array now and then
        held.add(hash(m) for m in members[start : start + 700])
        assert held.pick(members[: start + 700]) == members[: start + 700]
        if held.crowded:
            before = len(held)
            held, merges = held.merged(), merges + 1
            assert len(held) == before and not held.crowded
            assert held.pick(members[: start + 700]) == members[: start + 700]
    assert merges >= 3
    assert len(held) == 20_000
    assert held.pick(strangers) == []  # 64-bit hashes: a false positive is about 1 in 10^15 here
    assert held.nbytes < 20_000 * 8 + 20_000 * 16 // 8 * 2


async def test_transaction_ids_going_backwards_reload_the_set(api, merchant, pool, litecoind, watcher, caplog):
    litecoind.mine(1)
    await watcher.poll()  # the set is loaded
    watcher.allocated._boundary = 2**62  # as if read from a database restored under the running watcher since
    view = await ltc_invoice(api, merchant)
    litecoind.send(address_of(view), due(view))
    litecoind.mine(1)
    with caplog.at_level(logging.WARNING, logger="coinvoice.chains.allocated"):
        await watcher.poll()
    assert "litecoin: the database's transaction ids went backwards; reloading allocated addresses" in caplog.text
    assert (await view_of(api, view["id"]))["status"] == "done"


async def test_building_a_large_set_does_not_stall_the_event_loop(monkeypatch):
    """The full load and the merges sort and index in a thread: another task keeps running every few ms."""
    rng = random.Random(7)
    members = [f"ltc1q{rng.getrandbits(160):040x}" for _ in range(400_000)]
    started = time.perf_counter()
    HashSet64(hash(m) for m in members)
    build = time.perf_counter() - started

    async def allocated_since(conn, chain, boundary, take):
        for at in range(0, len(members), ALLOCATED_CHUNK):  # as the database streams them
            take(members[at : at + ALLOCATED_CHUNK])
            await asyncio.sleep(0)
        return 1

    monkeypatch.setattr(chain_watch, "allocated_since", allocated_since)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    allocated = AllocatedAddresses("litecoin")
    await allocated.refresh(None)  # type: ignore[arg-type]  # the stand-in above needs no connection
    done.set()
    await ticking
    assert allocated.size == 400_000
    assert allocated.candidates([*members[:1000], "ltc1qnot-allocated"]) == members[:1000]
    assert max(gaps) < build / 3, (max(gaps), build)  # in the loop, the build alone would stall it for `build`
