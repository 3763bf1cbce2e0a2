"""The EVM watcher under faults on real anvil nodes: BSC, reorgs, a kill mid catch-up, outages, two leaders,
a node that is another chain, a token with the wrong decimals, concurrent fills."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace

from eth_account import Account

from coinvoice.db.pool import create_pool
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.web.pay.model import build_page
from tests.chains.evm_support import (
    accept_evm,
    address_of,
    deposits_of,
    due_units,
    evm_settings,
    evm_watcher,
    filled_invoice,
    status_of,
)
from tests.chains.watch_support import (
    event_types,
    fill_concurrently,
    kill_inside_nth_paying_block,
    poll_through_an_outage,
    poll_until_leading,
)

#: the mnemonic behind tests/conftest.py's TPUB (its account m/84'/1'/0'); derived here by another library
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


async def test_bnb_on_a_bsc_chain_with_chain_id_56_is_paid_and_its_uri_names_the_chain(
    api, company, pool, settings, anvil_bsc
):
    bsc = evm_settings(settings, anvil_bsc, chain="bsc")
    assert bsc.chain("bsc").chain_id == 56
    await accept_evm(api, company, pool, "bsc", ["bnb"])
    watcher = evm_watcher(bsc, pool, "bsc")
    try:
        await watcher.poll()
        view = await filled_invoice(api, company, "bnb")
        wei = due_units(view, 18)
        page = build_page(view, (PAYMENT_ASSETS["bnb"],), bsc)
        assert page.payment is not None and page.payment.uri == f"ethereum:{address_of(view)}@56?value={wei}"
        anvil_bsc.send_eth(address_of(view), wei)
        await watcher.poll()
        assert await status_of(api, view["id"]) == "done"
        [dep] = await deposits_of(pool, address_of(view))
        assert (dep["asset"], dep["credited"]) == ("bnb", True)
    finally:
        await watcher.close()


async def test_a_reorg_removing_the_paying_block_takes_the_invoice_out_of_done(
    api, eth_merchant, pool, anvil, eth_watcher
):
    view = await filled_invoice(api, eth_merchant, "eth")
    anvil.send_eth(address_of(view), due_units(view, 18))
    await eth_watcher.poll()
    assert await status_of(api, view["id"]) == "done"
    anvil.reorg(1)  # the paying block is replaced by one without the payment
    await eth_watcher.poll()
    assert await status_of(api, view["id"]) == "pending"
    [dep] = await deposits_of(pool, address_of(view))
    assert dep["state"] == "orphaned"
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.done",
        "invoice.reversed",
        "invoice.pending",
    ]


async def test_a_payment_re_mined_after_a_reorg_is_credited_once(api, eth_merchant, pool, anvil, eth_watcher):
    view = await filled_invoice(api, eth_merchant, "eth")
    raw = anvil.sign_eth_transfer(address_of(view), due_units(view, 18), sender=6)
    anvil.send_raw(raw)
    await eth_watcher.poll()
    anvil.reorg(1, [(raw, 0)])  # same transaction, new block hash
    await eth_watcher.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_of(pool, address_of(view))
    assert dep["state"] != "orphaned"


async def test_killed_mid_catch_up_a_new_watcher_records_every_deposit_once(
    api, eth_merchant, pool, db_url, anvil, eth_settings, monkeypatch
):
    first = evm_watcher(eth_settings, await create_pool(db_url, min_size=1, max_size=2))
    first_pool = first._pool
    await first.poll()
    invoices = [await filled_invoice(api, eth_merchant, "eth") for _ in range(4)]
    paying = []
    for view in invoices:
        anvil.send_eth(address_of(view), due_units(view, 18))
        paying.append(anvil.block_number())
        anvil.mine(3)

    await kill_inside_nth_paying_block(first.poll(), monkeypatch, 3)
    first_pool.terminate()

    cursor = await pool.fetchval("SELECT height FROM chain_cursors WHERE chain = 'ethereum'")
    assert paying[1] <= cursor < paying[2]
    second = evm_watcher(eth_settings, pool)
    try:
        await poll_until_leading(second)
    finally:
        await second.close()
    for view in invoices:
        assert await status_of(api, view["id"]) == "done"
        assert len(await deposits_of(pool, address_of(view))) == 1
        assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]


async def test_node_down_backs_off_then_catches_up(api, eth_merchant, pool, anvil, eth_settings, caplog):
    fast = replace(
        eth_settings,
        chains={**eth_settings.chains, "ethereum": replace(eth_settings.chain("ethereum"), poll_seconds=0.2)},
    )
    watcher = evm_watcher(fast, pool)
    try:
        await watcher.poll()
        view = await filled_invoice(api, eth_merchant, "eth")
        anvil.send_eth(address_of(view), due_units(view, 18))

        async def still_pending() -> None:
            assert await status_of(api, view["id"]) == "pending"

        await poll_through_an_outage(watcher, anvil, caplog, still_pending)
        assert await status_of(api, view["id"]) == "done"
    finally:
        await watcher.close()


async def test_two_worker_processes_one_leads_and_the_payment_is_credited_once(
    api, eth_merchant, pool, db_url, anvil, eth_settings
):
    pools = [await create_pool(db_url, min_size=1, max_size=2) for _ in range(2)]
    watchers = [evm_watcher(eth_settings, p) for p in pools]
    try:
        view = await filled_invoice(api, eth_merchant, "eth")
        anvil.send_eth(address_of(view), due_units(view, 18))
        await asyncio.gather(*(w.poll() for w in watchers))
        await asyncio.gather(*(w.poll() for w in watchers))
        assert sorted(w.is_leader for w in watchers) == [False, True]
        assert await status_of(api, view["id"]) == "done"
        assert len(await deposits_of(pool, address_of(view))) == 1
        assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]
    finally:
        for w in watchers:
            await w.close()
        for p in pools:
            await p.close()


async def test_a_node_of_another_chain_stops_the_watcher_with_one_clear_error(pool, settings, anvil_bsc, caplog):
    wrong = evm_settings(settings, anvil_bsc)  # a chain id 56 node given as ethereum...
    wrong = replace(wrong, chains={**wrong.chains, "ethereum": replace(wrong.chain("ethereum"), chain_id=1)})
    watcher = evm_watcher(wrong, pool)
    try:
        with caplog.at_level(logging.ERROR):
            for _ in range(3):
                await watcher.poll()
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, errors
        assert "answers chain id 56, but 1 is configured" in errors[0]
        assert watcher.misconfigured and not watcher.is_leader
        assert await pool.fetchval("SELECT count(*) FROM chain_cursors") == 0
    finally:
        await watcher.close()


async def test_a_token_contract_with_other_decimals_stops_the_watcher(pool, settings, anvil, caplog):
    eighteen = anvil.deploy("TestToken", "Not Tether", "USDT", 18)
    bad = evm_settings(settings, anvil, tokens={"usdterc20": eighteen})
    watcher = evm_watcher(bad, pool)
    try:
        with caplog.at_level(logging.ERROR):
            await watcher.poll()
        assert f"{eighteen} configured for usdterc20 gives decimals() = 18, but usdterc20 has 6" in caplog.text
        assert watcher.misconfigured
    finally:
        await watcher.close()


async def test_the_api_keeps_serving_while_the_ethereum_watcher_is_misconfigured(
    api, eth_merchant, pool, settings, anvil_bsc
):
    wrong = evm_settings(settings, anvil_bsc)
    wrong = replace(wrong, chains={**wrong.chains, "ethereum": replace(wrong.chain("ethereum"), chain_id=1)})
    watcher = evm_watcher(wrong, pool)
    await watcher.poll()
    await watcher.close()
    view = await filled_invoice(api, eth_merchant, "eth")
    assert await status_of(api, view["id"]) == "pending"


async def test_24_concurrent_fills_get_distinct_addresses_equal_to_an_independent_derivation(api, company, pool):
    await accept_evm(api, company, pool, "ethereum", ["eth"])
    start = await pool.fetchval(
        "SELECT next_index FROM company_wallets WHERE company_id = $1 AND chain = 'ethereum'", uuid.UUID(company["id"])
    )
    addresses = await fill_concurrently(api, company, "eth")
    Account.enable_unaudited_hdwallet_features()
    expected = {
        Account.from_mnemonic(MNEMONIC, account_path=f"m/84'/1'/0'/0/{i}").address for i in range(start, start + 24)
    }
    assert addresses == expected


async def test_a_long_catch_up_logs_its_progress(api, eth_merchant, pool, anvil, eth_settings, caplog):
    watcher = evm_watcher(eth_settings, pool, progress_every=5, block_batch=4)
    try:
        await watcher.poll()
        anvil.mine(12)
        with caplog.at_level(logging.INFO, logger="coinvoice.chains.evm.adapter"):
            await watcher.poll()
        progress = [r.getMessage() for r in caplog.records if "catch-up at" in r.getMessage()]
        assert len(progress) == 2, progress
        assert "blocks behind" in progress[0]
    finally:
        await watcher.close()
