"""Both shared-address chains (Solana on LiteSVM, TON on the toncenter stand-in) under load and faults: 50
concurrent fills on one address, a kill mid-scan, the node down and back, two workers, a transaction the node
stops returning, and a cost per round that does not grow with the number of open invoices."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

import pytest

from coinvoice.db.pool import create_pool
from tests.chains.shared_support import (
    deposits_at,
    filled_invoice,
    scanner,
    shared_settings,
    status_of,
    units,
)
from tests.chains.watch_support import (
    event_types,
    kill_inside_nth_paying_block,
    poll_through_an_outage,
    poll_until_leading,
)


@dataclass
class Shared:
    """One shared-address chain as the tests drive it: its stand-in, a merchant on it, and a payer."""

    chain: str
    code: str
    node: Any
    merchant: dict[str, Any]
    settings: Any
    payer: Any

    def pay(self, view: dict[str, Any], amount: int | None = None) -> str:
        """Pay an invoice with its reference or comment (the exact amount due unless told)."""
        amount = units(view) if amount is None else amount
        if self.chain == "solana":
            return self.payer.pay(self.merchant["address"], amount, view["address"]["reference"])
        return self.payer.pay(self.merchant["address"], amount, view["address"]["tag"])

    def finalize(self) -> None:
        if self.chain == "solana":
            self.node.finalize()

    def drop(self, txid: str) -> None:
        self.node.drop(txid)


@pytest.fixture(params=["solana", "ton"])
def shared(request) -> Shared:
    if request.param == "solana":
        names = ("sol", "solana_node", "sol_merchant", "sol_settings", "sol_payer")
    else:
        names = ("ton", "ton_node", "ton_merchant", "ton_settings", "ton_payer")
    code, *fixtures = names
    node, merchant, settings, payer = (request.getfixturevalue(f) for f in fixtures)
    return Shared(request.param, code, node, merchant, settings, payer)


async def test_50_invoices_filled_at_once_on_one_address_all_get_different_amounts_due(api, shared, pool):
    created = []
    for _ in range(50):
        status, body = await api.call(
            "POST",
            "/api/invoices/v1/regular",
            token=shared.merchant["publicToken"],
            json_body={"invoiceCurrency": "eur", "items": [{"name": "Tea", "price": "3"}]},
        )
        assert status == 201, body
        created.append(body["id"])
    replies = await asyncio.gather(
        *(
            api.call(
                "POST",
                f"/api/invoices/v1/regular/{i}/proceed",
                json_body={"clientEmail": "payer@example.com", "paymentCurrency": shared.code},
            )
            for i in created
        )
    )
    assert all(status == 200 for status, _ in replies), replies
    dues = sorted(units(body) for _, body in replies)
    assert len(set(dues)) == 50  # unique among the open invoices on the address
    assert dues == list(range(dues[0], dues[0] + 50))  # the base due, plus 0..49 base units: never rounded down
    assert {body["address"]["address"] for _, body in replies} == {shared.merchant["address"]}
    keys = {body["address"].get("reference") or body["address"]["tag"] for _, body in replies}
    assert len(keys) == 50
    stored = await pool.fetchval(
        "SELECT count(DISTINCT q.due_units) FROM quotes q JOIN addresses a ON a.invoice_id = q.invoice_id"
        " WHERE a.chain = $1 AND a.address = $2",
        shared.chain,
        shared.merchant["address"],
    )
    assert stored == 50


async def test_killed_mid_scan_a_new_scanner_records_every_deposit_once(
    api, shared, pool, db_url, session, monkeypatch
):
    first_pool = await create_pool(db_url, min_size=1, max_size=2)
    first = scanner(shared.settings, first_pool, session, shared.chain, chunk=1)
    invoices = [await filled_invoice(api, shared.merchant, shared.code) for _ in range(4)]
    paid = [shared.pay(view) for view in invoices]
    shared.finalize()

    await kill_inside_nth_paying_block(first.poll(), monkeypatch, 3)
    first_pool.terminate()

    cursor = await pool.fetchval(
        "SELECT cursor FROM account_cursors WHERE chain = $1 AND address = $2", shared.chain, shared.merchant["address"]
    )
    assert cursor is not None and paid[1] in (cursor, _ton_hash(cursor))  # two chunks committed, the third not
    second = scanner(shared.settings, pool, session, shared.chain)
    try:
        await poll_until_leading(second)
    finally:
        await second.close()
    for view in invoices:
        assert await status_of(api, view["id"]) == "done"
        assert (await event_types(pool, view["id"]))[-1] == "invoice.done"
    deposits = await deposits_at(pool, shared.chain, shared.merchant["address"])
    assert sorted(d["txid"] for d in deposits) == sorted(paid)


async def test_stand_in_down_backs_off_then_catches_up(api, shared, pool, session, caplog):
    chain_settings = replace(shared.settings.chain(shared.chain), poll_seconds=0.2)
    fast = replace(shared.settings, chains={**shared.settings.chains, shared.chain: chain_settings})
    watcher = scanner(fast, pool, session, shared.chain)
    try:
        await watcher.poll()
        view = await filled_invoice(api, shared.merchant, shared.code)
        shared.pay(view)
        shared.finalize()

        async def still_pending() -> None:
            assert await status_of(api, view["id"]) == "pending"

        await poll_through_an_outage(watcher, shared.node, caplog, still_pending)
        assert await status_of(api, view["id"]) == "done"
    finally:
        await watcher.close()


async def test_two_worker_processes_one_leads_and_the_payment_is_credited_once(api, shared, pool, db_url, session):
    pools = [await create_pool(db_url, min_size=1, max_size=2) for _ in range(2)]
    watchers = [scanner(shared.settings, p, session, shared.chain) for p in pools]
    try:
        view = await filled_invoice(api, shared.merchant, shared.code)
        shared.pay(view)
        shared.finalize()
        await asyncio.gather(*(w.poll() for w in watchers))
        await asyncio.gather(*(w.poll() for w in watchers))
        assert sorted(w.is_leader for w in watchers) == [False, True]
        assert await status_of(api, view["id"]) == "done"
        assert len(await deposits_at(pool, shared.chain, shared.merchant["address"])) == 1
        assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]
    finally:
        for w in watchers:
            await w.close()
        for p in pools:
            await p.close()


async def test_a_transaction_the_node_no_longer_returns_is_reversed(api, shared, pool, session, caplog):
    settings = shared_settings(
        shared.settings, shared.chain, shared.settings.chain(shared.chain).rpc_url, confirmations=2,
        api_key=shared.settings.chain(shared.chain).api_key,
    )  # fmt: skip
    watcher = scanner(settings, pool, session, shared.chain)
    try:
        view = await filled_invoice(api, shared.merchant, shared.code)
        txid = shared.pay(view)
        await watcher.poll()
        assert await status_of(api, view["id"]) == "processing"  # seen, not final (not finalized / 1 of 2 blocks)
        shared.drop(txid)  # a fork that lost: the node forgets it
        await watcher.poll()  # missing once: maybe a lagging node
        assert await status_of(api, view["id"]) == "processing"
        with caplog.at_level(logging.WARNING):
            await watcher.poll()
        assert "no longer returned by the node" in caplog.text
        assert await status_of(api, view["id"]) == "pending"
        [dep] = await deposits_at(pool, shared.chain, shared.merchant["address"])
        assert dep["state"] == "orphaned"
        assert (await event_types(pool, view["id"]))[-1] == "invoice.pending"
    finally:
        await watcher.close()


async def test_a_round_costs_the_same_with_one_or_thirty_open_invoices_on_an_address(api, shared, pool, session):
    watcher = scanner(shared.settings, pool, session, shared.chain)
    try:
        await filled_invoice(api, shared.merchant, shared.code)
        await watcher.poll()
        shared.node.requests.clear()
        await watcher.poll()
        one = len(shared.node.requests)
        for _ in range(29):
            await filled_invoice(api, shared.merchant, shared.code)
        shared.node.requests.clear()
        await watcher.poll()
        assert len(shared.node.requests) == one == 2  # the tip, and one history page of the one address
    finally:
        await watcher.close()


async def test_an_address_of_another_company_is_refused(api, shared, settings, pool):
    from coinvoice.services.companies import create_company

    other = await create_company(pool, settings, "Other shop", None, None)
    status, body = await api.call(
        "PUT",
        f"/api/company/wallets/{shared.chain}",
        token=other["publicToken"],
        json_body={"address": shared.merchant["address"]},
    )
    assert status == 409 and body["error"]["code"] == "address_in_use", body
    status, wallets = await api.call("GET", "/api/company/wallets", token=shared.merchant["publicToken"])
    [wallet] = wallets["wallets"]
    assert wallet["address"] == shared.merchant["address"] and "xpub" not in wallet


async def test_a_solana_node_of_another_cluster_stops_the_watcher_with_one_clear_error(
    pool, settings, solana_node, session, caplog
):
    mainnet = shared_settings(settings, "solana", solana_node.rpc_url)
    mainnet = replace(mainnet, chains={**mainnet.chains, "solana": replace(mainnet.chain("solana"), network="mainnet")})
    watcher = scanner(mainnet, pool, session, "solana")
    try:
        with caplog.at_level(logging.ERROR):
            for _ in range(3):
                await watcher.poll()
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "not the mainnet cluster's" in errors[0], errors
        assert watcher.misconfigured
    finally:
        await watcher.close()


def _ton_hash(cursor: str) -> str:
    """The hex hash in a TON cursor ("lt:base64 hash"); a Solana cursor is the signature itself."""
    import base64

    _, _, encoded = cursor.partition(":")
    return base64.b64decode(encoded).hex() if encoded else cursor
