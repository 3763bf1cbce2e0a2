"""The UTXO watcher under reorgs, kills, node outages, replaced payments and a second worker process."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import aiohttp

from coinvoice.db.pool import create_pool
from tests.chains.watch_support import (
    address_of,
    deposit_rows,
    due,
    event_types,
    kill_inside_nth_paying_block,
    ltc_invoice,
    make_watcher,
    poll_through_an_outage,
    poll_until_leading,
    view_of,
    watch_settings,
)
from tests.support.litecoind import MINER_WALLET


def _miner_address(node) -> str:
    return node.rpc("getnewaddress", wallet=MINER_WALLET)


def _replaceable_payment(node, address: str, amount: Decimal) -> tuple[str, dict]:
    """Pay from one deep coinbase output, signalling replaceability; returns the txid and the coin spent."""
    coin = next(
        c
        for c in node.rpc("listunspent", 101, 9_999_999, wallet=MINER_WALLET)
        if c["amount"] > amount + 1 and c["spendable"]
    )
    change = coin["amount"] - amount - Decimal("0.001")
    outputs = [{address: str(amount)}, {_miner_address(node): str(change)}]
    raw = node.rpc("createrawtransaction", [{"txid": coin["txid"], "vout": coin["vout"]}], outputs, 0, True)
    signed = node.rpc("signrawtransactionwithwallet", raw, wallet=MINER_WALLET)
    return node.rpc("sendrawtransaction", signed["hex"]), coin


def _mine_double_spend(node, coin: dict) -> None:
    """Mine a block spending ``coin`` again to the miner: the earlier payment drops out of the mempool.

    (litecoind does not replace by fee, so the conflict goes straight into a block.)
    """
    outputs = [{_miner_address(node): str(coin["amount"] - Decimal("0.01"))}]
    raw = node.rpc("createrawtransaction", [{"txid": coin["txid"], "vout": coin["vout"]}], outputs, 0, True)
    signed = node.rpc("signrawtransactionwithwallet", raw, wallet=MINER_WALLET)
    node.rpc("generateblock", _miner_address(node), [signed["hex"]])


def _reorg_out(node, block_hash: str) -> None:
    """Replace ``block_hash`` (the tip) by a longer branch of two empty blocks."""
    node.rpc("invalidateblock", block_hash)
    miner = _miner_address(node)
    for _ in range(2):
        node.rpc("generateblock", miner, [])


async def test_reorg_removing_the_paying_block_reverses_done_and_remining_restores_it(
    api, merchant, pool, litecoind, watcher
):
    view = await ltc_invoice(api, merchant)
    txid = litecoind.send(address_of(view), due(view))
    [paying_block] = litecoind.mine(1)
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "done"

    _reorg_out(litecoind, paying_block)
    assert txid in litecoind.rpc("getrawmempool")  # the payment is unconfirmed again
    await watcher.poll()
    reversed_view = await view_of(api, view["id"])
    assert reversed_view["status"] == "processing"
    assert reversed_view["invoiceTransactions"][0]["confirmations"] == 0
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.done",
        "invoice.reversed",
        "invoice.pending",
        "invoice.processing",
    ]

    litecoind.mine(1)
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "done"
    assert (await event_types(pool, view["id"]))[-1] == "invoice.done"
    [row] = await deposit_rows(pool, view["id"])
    assert (row["txid"], row["state"], row["confirmations"]) == (txid, "confirmed", 1)


async def test_reorg_with_a_double_spent_payment_leaves_the_invoice_unpaid(api, merchant, pool, litecoind, watcher):
    view = await ltc_invoice(api, merchant)
    txid, coin = _replaceable_payment(litecoind, address_of(view), due(view))
    [paying_block] = litecoind.mine(1)
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "done"

    litecoind.rpc("invalidateblock", paying_block)
    _mine_double_spend(litecoind, coin)
    litecoind.rpc("generateblock", _miner_address(litecoind), [])
    assert txid not in litecoind.rpc("getrawmempool")
    await watcher.poll()
    litecoind.mine(1)
    await watcher.poll()

    unpaid = await view_of(api, view["id"])
    assert unpaid["status"] == "pending"
    assert "invoiceTransactions" not in unpaid
    assert unpaid["paymentDetails"]["received"] == "0"
    assert [r["state"] for r in await deposit_rows(pool, view["id"])] == ["orphaned"]
    assert (await event_types(pool, view["id"]))[-3:] == ["invoice.done", "invoice.reversed", "invoice.pending"]


async def test_unmined_payment_double_spent_by_a_block_stops_counting(api, merchant, pool, litecoind, watcher):
    view = await ltc_invoice(api, merchant)
    _, coin = _replaceable_payment(litecoind, address_of(view), due(view))
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "processing"

    _mine_double_spend(litecoind, coin)
    await watcher.poll()  # gone from the mempool once: could still be in a block the watcher has not read
    assert (await view_of(api, view["id"]))["status"] == "processing"
    await watcher.poll()
    assert (await view_of(api, view["id"]))["status"] == "pending"
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.processing",
        "invoice.pending",
    ]


async def test_watcher_killed_mid_catch_up_and_restarted_records_every_deposit_once(
    api, merchant, pool, db_url, session, litecoind, ltc_settings, monkeypatch
):
    first = make_watcher(ltc_settings, await create_pool(db_url, min_size=1, max_size=2), session, litecoind)
    first_pool = first._pool
    await first.poll()
    invoices = [await ltc_invoice(api, merchant) for _ in range(5)]
    paying_heights = []
    for view in invoices:
        litecoind.send(address_of(view), due(view))
        litecoind.mine(1)
        paying_heights.append(litecoind.rpc("getblockcount"))
        litecoind.mine(7)

    # the "process" dies inside the transaction of the third paying block, after its deposit is written
    await kill_inside_nth_paying_block(first.poll(), monkeypatch, 3)
    first_pool.terminate()

    cursor = await pool.fetchval("SELECT height FROM chain_cursors WHERE chain = 'litecoin'")
    assert paying_heights[1] <= cursor < paying_heights[2]
    assert [len(await deposit_rows(pool, v["id"])) for v in invoices] == [1, 1, 0, 0, 0]

    second = make_watcher(ltc_settings, pool, session, litecoind)
    try:
        await poll_until_leading(second)
    finally:
        await second.close()
    for view in invoices:
        assert (await view_of(api, view["id"]))["status"] == "done"
        assert len(await deposit_rows(pool, view["id"])) == 1
        assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]


async def test_node_outage_backs_off_with_one_warning_per_try_and_catches_up_after(
    api, merchant, pool, litecoind, settings, caplog
):
    fast = watch_settings(settings, litecoind)
    fast = replace(fast, chains={**fast.chains, "litecoin": replace(fast.chain("litecoin"), poll_seconds=0.2)})
    # no kept-alive RPC connection: litecoind would wait -rpcservertimeout (30 s) for it before stopping
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    watcher = make_watcher(fast, pool, session, litecoind)
    try:
        await watcher.poll()
        view = await ltc_invoice(api, merchant)
        litecoind.send(address_of(view), due(view))
        litecoind.mine(1)

        async def still_pending() -> None:
            assert (await view_of(api, view["id"]))["status"] == "pending"

        await poll_through_an_outage(watcher, litecoind, caplog, still_pending)
        assert (await view_of(api, view["id"]))["status"] == "done"
    finally:
        await watcher.close()
        await session.close()


async def test_two_worker_processes_one_leads_and_each_deposit_is_recorded_once(
    api, merchant, pool, db_url, session, litecoind, ltc_settings
):
    pools = [await create_pool(db_url, min_size=1, max_size=3) for _ in range(2)]
    watchers = [make_watcher(ltc_settings, p, session, litecoind) for p in pools]
    try:
        invoices = [await ltc_invoice(api, merchant) for _ in range(3)]
        for view in invoices:
            litecoind.send(address_of(view), due(view))
        for _ in range(3):
            await asyncio.gather(*(w.poll() for w in watchers))
        assert sorted(w.is_leader for w in watchers) == [False, True]
        litecoind.mine(1)
        for _ in range(2):
            await asyncio.gather(*(w.poll() for w in watchers))
        for view in invoices:
            assert (await view_of(api, view["id"]))["status"] == "done"
            assert len(await deposit_rows(pool, view["id"])) == 1
            assert await event_types(pool, view["id"]) == [
                "invoice.created",
                "invoice.pending",
                "invoice.processing",
                "invoice.done",
            ]

        # the leader's process dies: the other takes over at its next poll
        leader = next(i for i, w in enumerate(watchers) if w.is_leader)
        pools[leader].terminate()
        survivor = watchers[1 - leader]
        late = await ltc_invoice(api, merchant)
        litecoind.send(address_of(late), due(late))
        await survivor.poll()
        assert survivor.is_leader
        assert (await view_of(api, late["id"]))["status"] == "processing"
        litecoind.mine(1)
        await survivor.poll()
        assert (await view_of(api, late["id"]))["status"] == "done"
    finally:
        for w, p in zip(watchers, pools, strict=True):
            if not p._closed:
                await w.close()
                await p.close()


async def test_fresh_database_starts_the_configured_few_blocks_below_the_tip(pool, session, litecoind, ltc_settings):
    tip = litecoind.rpc("getblockcount")
    watcher = make_watcher(replace(ltc_settings, chain_lookback_blocks=3), pool, session, litecoind)
    try:
        await watcher.poll()
    finally:
        await watcher.close()
    assert await pool.fetchval("SELECT height FROM chain_cursors WHERE chain = 'litecoin'") == tip
    heights = [r["height"] for r in await pool.fetch("SELECT height FROM chain_blocks ORDER BY height")]
    assert heights == list(range(tip - 3, tip + 1))
