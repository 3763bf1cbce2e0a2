"""The TRON watcher under faults on the stand-in: reorgs, a kill mid catch-up, an outage, rate limits, two leaders,
a token contract that is not USDT, concurrent fills, the API key header."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import replace

import pytest
from tronpy.hdwallet import key_from_seed
from tronpy.keys import PrivateKey

from coinvoice.chains.registry import build_adapter, watched_chains
from coinvoice.chains.tron.adapter import TronAdapter
from coinvoice.chains.tron.http import API_KEY_HEADER, TronHttp
from coinvoice.db.pool import create_pool
from coinvoice.domain.chains import CHAINS
from tests.chains.evm_support import address_of, due_units, status_of
from tests.chains.tron_support import (
    MNEMONIC,
    TRX_DECIMALS,
    USDT_DECIMALS,
    accept_tron,
    deposits_of,
    funded_payer,
    tron_settings,
    tron_watcher,
    with_trx_rate,
)
from tests.chains.watch_support import (
    event_types,
    fill_concurrently,
    filled_invoice,
    kill_inside_nth_paying_block,
    poll_through_an_outage,
    poll_until_leading,
)


@pytest.fixture
def settings(settings):
    """The shared test settings plus a eur -> trx rate, so trx invoices can be filled here."""
    return with_trx_rate(settings)


def fast(settings, **changes):
    """Settings polling every 0.2 s (the outage helper's rhythm)."""
    return replace(
        settings, chains={**settings.chains, "tron": replace(settings.chain("tron"), poll_seconds=0.2, **changes)}
    )


async def test_a_reorg_removing_the_paying_block_takes_the_invoice_out_of_done(
    api, tron_merchant, pool, tron_node, tron_watcher_
):
    view = await filled_invoice(api, tron_merchant, "trx")
    funded_payer(tron_node).send_trx(address_of(view), due_units(view, TRX_DECIMALS))
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"
    tron_node.reorg(1)  # the paying block is replaced by one without the payment
    await tron_watcher_.poll()
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


async def test_a_usdt_payment_re_mined_after_a_reorg_is_credited_once(
    api, tron_merchant, pool, tron_node, tron_watcher_, trc20_usdt
):
    view = await filled_invoice(api, tron_merchant, "trc20usdt")
    units = due_units(view, USDT_DECIMALS)
    funded_payer(tron_node, tokens={trc20_usdt: units}).send_token(trc20_usdt, address_of(view), units)
    await tron_watcher_.poll()
    old_block = tron_node.block_id()
    tron_node.reorg(1, readd=True)  # same transaction, in a block with another id
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_of(pool, address_of(view))
    assert dep["state"] != "orphaned"
    assert await pool.fetchval("SELECT block_hash FROM deposits WHERE address = $1", address_of(view)) != old_block


async def test_killed_mid_catch_up_a_new_watcher_records_every_deposit_once(
    api, tron_merchant, pool, db_url, session, tron_node, tron_cfg, trc20_usdt, monkeypatch
):
    first = tron_watcher(tron_cfg, await create_pool(db_url, min_size=1, max_size=2), session)
    first_pool = first._pool
    await first.poll()
    invoices = [await filled_invoice(api, tron_merchant, "trc20usdt") for _ in range(4)]
    paying = []
    for view in invoices:
        units = due_units(view, USDT_DECIMALS)
        funded_payer(tron_node, tokens={trc20_usdt: units}).send_token(trc20_usdt, address_of(view), units)
        paying.append(tron_node.height())
        tron_node.mine(3)

    await kill_inside_nth_paying_block(first.poll(), monkeypatch, 3)
    first_pool.terminate()

    cursor = await pool.fetchval("SELECT height FROM chain_cursors WHERE chain = 'tron'")
    assert paying[1] <= cursor < paying[2]
    second = tron_watcher(tron_cfg, pool, session)
    try:
        await poll_until_leading(second)
    finally:
        await second.close()
    for view in invoices:
        assert await status_of(api, view["id"]) == "done"
        assert len(await deposits_of(pool, address_of(view))) == 1
        assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]


async def test_stand_in_down_backs_off_then_catches_up(api, tron_merchant, pool, session, tron_node, tron_cfg, caplog):
    watcher = tron_watcher(fast(tron_cfg), pool, session)
    try:
        await watcher.poll()
        view = await filled_invoice(api, tron_merchant, "trx")
        funded_payer(tron_node).send_trx(address_of(view), due_units(view, TRX_DECIMALS))

        async def still_pending() -> None:
            assert await status_of(api, view["id"]) == "pending"

        await poll_through_an_outage(watcher, tron_node, caplog, still_pending)
        assert await status_of(api, view["id"]) == "done"
    finally:
        await watcher.close()


async def test_rate_limited_answers_are_retried_after_retry_after(
    api, tron_merchant, pool, session, tron_node, tron_watcher_
):
    view = await filled_invoice(api, tron_merchant, "trx")
    funded_payer(tron_node).send_trx(address_of(view), due_units(view, TRX_DECIMALS))
    tron_node.throttle(3, status=429, retry_after="0.05")
    before = sum(tron_node.requests.values())
    await tron_watcher_.poll()
    assert await status_of(api, view["id"]) == "done"
    # the three refused tries, then the round: getnowblock (whose parent id answers the reorg check),
    # getblockbylimitnext and the new block's gettransactioninfobyblocknum
    assert sum(tron_node.requests.values()) - before == 3 + 3


async def test_a_node_busy_past_the_retries_is_unavailable_and_the_watcher_backs_off(
    api, tron_merchant, pool, session, tron_node, tron_cfg, caplog
):
    watcher = tron_watcher(fast(tron_cfg), pool, session)
    try:
        await watcher.poll()
        view = await filled_invoice(api, tron_merchant, "trx")
        funded_payer(tron_node).send_trx(address_of(view), due_units(view, TRX_DECIMALS))
        tron_node.throttle(4, status=503, retry_after="0.01")
        with caplog.at_level(logging.WARNING, logger="coinvoice.chains.tron.adapter"):
            await watcher.poll()
        assert "tron node unavailable (/wallet/getnowblock" in caplog.text
        assert "HTTP 503 (rate limited or busy) after 4 tries" in caplog.text
        assert await status_of(api, view["id"]) == "pending"
        await asyncio.sleep(0.25)
        await watcher.poll()
        assert await status_of(api, view["id"]) == "done"
    finally:
        await watcher.close()


async def test_two_worker_processes_one_leads_and_the_payment_is_credited_once(
    api, tron_merchant, pool, db_url, session, tron_node, tron_cfg, trc20_usdt
):
    pools = [await create_pool(db_url, min_size=1, max_size=2) for _ in range(2)]
    watchers = [tron_watcher(tron_cfg, p, session) for p in pools]
    try:
        view = await filled_invoice(api, tron_merchant, "trc20usdt")
        units = due_units(view, USDT_DECIMALS)
        funded_payer(tron_node, tokens={trc20_usdt: units}).send_token(trc20_usdt, address_of(view), units)
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


async def test_a_token_contract_with_other_decimals_stops_the_watcher_with_one_error(
    pool, session, settings, tron_node, caplog
):
    eighteen = tron_node.deploy_token("USDT", 18)
    watcher = tron_watcher(tron_settings(settings, tron_node, tokens={"trc20usdt": eighteen}), pool, session)
    try:
        with caplog.at_level(logging.ERROR):
            for _ in range(3):
                await watcher.poll()
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, errors
        assert f"{eighteen} configured for trc20usdt gives decimals() = 18, but trc20usdt has 6" in errors[0]
        assert watcher.misconfigured and not watcher.is_leader
        assert await pool.fetchval("SELECT count(*) FROM chain_cursors") == 0
    finally:
        await watcher.close()


async def test_a_token_contract_that_does_not_exist_or_is_not_an_address_stops_the_watcher(
    pool, session, settings, tron_node, caplog
):
    nowhere = PrivateKey.random().public_key.to_base58check_address()
    for contract, message in (
        (nowhere, f"{nowhere} configured for trc20usdt gives no decimals() answer (Smart contract is not exist.)"),
        (
            "0xdAC17F958D2ee523a2206206994597C13D831ec7",
            "is not a base58check TRON address (token contract of trc20usdt",
        ),
    ):
        watcher = tron_watcher(tron_settings(settings, tron_node, tokens={"trc20usdt": contract}), pool, session)
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            await watcher.poll()
        await watcher.close()
        assert watcher.misconfigured and message in caplog.text


async def test_the_api_key_is_sent_as_the_tron_pro_api_key_header(pool, session, tron_node, tron_cfg):
    watcher = tron_watcher(fast(tron_cfg, api_key="my-key"), pool, session)
    try:
        await watcher.poll()
        assert tron_node.last_headers.get(API_KEY_HEADER) == "my-key"
    finally:
        await watcher.close()
    watcher = tron_watcher(tron_cfg, pool, session)
    try:
        await watcher.poll()
        assert API_KEY_HEADER not in tron_node.last_headers
    finally:
        await watcher.close()


async def test_requests_are_spaced_by_the_configured_rate(session, tron_node):
    http = TronHttp(tron_node.url, session, max_requests_per_second=20)
    started = time.monotonic()
    await asyncio.gather(*(http.post("/wallet/getnowblock", {}) for _ in range(10)))
    assert time.monotonic() - started >= 9 / 20 - 0.02


async def test_the_registry_builds_the_tron_adapter_for_a_configured_node(session, tron_cfg, settings):
    assert CHAINS["tron"] in watched_chains(tron_cfg)
    assert CHAINS["tron"] not in watched_chains(settings)
    assert isinstance(build_adapter(CHAINS["tron"], tron_cfg, session), TronAdapter)


async def test_24_concurrent_fills_get_distinct_addresses_equal_to_an_independent_derivation(api, company, pool):
    start = await accept_tron(api, company, pool, ("trx",))
    addresses = await fill_concurrently(api, company, "trx")
    seed = hashlib.pbkdf2_hmac("sha512", MNEMONIC.encode(), b"mnemonic", 2048)  # BIP39, by hand
    expected = {
        PrivateKey(key_from_seed(seed, f"m/44'/195'/0'/0/{i}")).public_key.to_base58check_address()
        for i in range(start, start + 24)
    }
    assert addresses == expected


async def test_a_long_catch_up_logs_its_progress(pool, session, tron_node, tron_cfg, caplog):
    watcher = tron_watcher(tron_cfg, pool, session, progress_every=5, block_batch=4)
    try:
        await watcher.poll()
        tron_node.mine(12)
        with caplog.at_level(logging.INFO, logger="coinvoice.chains.tron.adapter"):
            await watcher.poll()
        progress = [r.getMessage() for r in caplog.records if "catch-up at" in r.getMessage()]
        assert len(progress) == 2, progress
        assert progress[0].startswith("tron catch-up at") and "blocks behind" in progress[0]
    finally:
        await watcher.close()
