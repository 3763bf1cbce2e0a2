"""Helpers for the UTXO watcher tests: a litecoin merchant over the API, invoices, payments, events."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from coinvoice.chains.utxo.rpc import BitcoinRpc
from coinvoice.chains.utxo.watcher import UtxoWatcher
from coinvoice.config import Settings
from coinvoice.services import deposits
from coinvoice.services.invoices import expire_due_invoices
from tests.conftest import TPUB
from tests.support.litecoind import MINER_WALLET, LitecoinNode

_indexes = random.Random()


def watch_settings(settings: Settings, node: LitecoinNode, confirmations: int = 1, **changes: Any) -> Settings:
    """Test settings with the litecoin chain pointed at ``node`` and ltc needing ``confirmations``."""
    chains = dict(settings.chains)
    chains["litecoin"] = replace(settings.chain("litecoin"), network="regtest", rpc_url=node.rpc_url)
    return replace(
        settings,
        chains=chains,
        confirmations={**settings.confirmations, "ltc": confirmations},
        **changes,
    )


async def accept_litecoin(api, company: dict[str, str], pool: asyncpg.Pool) -> None:
    """Give the company the TPUB litecoin wallet and allow ltc, starting at an index no other test used.

    The regtest node is shared by the tests of a session, so every test derives its own addresses.
    """
    token = company["publicToken"]
    status, body = await api.call("PUT", "/api/company/wallets/litecoin", token=token, json_body={"xpub": TPUB})
    assert status == 200, body
    status, body = await api.call(
        "PATCH", "/api/company/assets", token=token, json_body={"assets": {"ltc": {"isAllowed": True}}}
    )
    assert status == 200, body
    await pool.execute(
        "UPDATE company_wallets SET next_index = $2 WHERE company_id = $1 AND chain = 'litecoin'",
        uuid.UUID(company["id"]),
        _indexes.randrange(1_000, 2**31 - 10_000),
    )


async def ltc_invoice(api, company: dict[str, str], price: str = "10") -> dict[str, Any]:
    """A regular eur invoice created by the merchant and filled with ltc by the payer, over HTTP."""
    return await filled_invoice(api, company, "ltc", price)


async def filled_invoice(api, company: dict[str, str], code: str, price: str = "10") -> dict[str, Any]:
    """A regular eur invoice created by the merchant and filled with ``code`` by the payer, over HTTP."""
    status, created = await api.call(
        "POST",
        "/api/invoices/v1/regular",
        token=company["publicToken"],
        json_body={"invoiceCurrency": "eur", "items": [{"name": "Coffee", "price": price}]},
    )
    assert status == 201, created
    status, view = await api.call(
        "POST",
        f"/api/invoices/v1/regular/{created['id']}/proceed",
        json_body={"clientEmail": "payer@example.com", "paymentCurrency": code},
    )
    assert status == 200, view
    assert view["status"] == "pending"
    return view


async def expire_invoice(pool: asyncpg.Pool, settings: Settings, invoice_id: str, ago: timedelta) -> None:
    """Make an open invoice expire ``ago`` before now, through the expiry job (its event written)."""
    await pool.execute(
        "UPDATE invoices SET expires_at = $2 WHERE id = $1", uuid.UUID(invoice_id), datetime.now(UTC) - ago
    )
    assert await expire_due_invoices(pool, settings) == 1


async def view_of(api, invoice_id: str) -> dict[str, Any]:
    status, view = await api.call("GET", f"/api/invoices/v1/regular/{invoice_id}")
    assert status == 200, view
    return view


def due(view: dict[str, Any]) -> Decimal:
    return Decimal(view["paymentDetails"]["amount"])


def address_of(view: dict[str, Any]) -> str:
    return view["address"]["address"]


async def event_types(pool: asyncpg.Pool, invoice_id: str) -> list[str]:
    rows = await pool.fetch("SELECT type FROM events WHERE invoice_id = $1 ORDER BY seq", uuid.UUID(invoice_id))
    return [r["type"] for r in rows]


async def deposit_rows(pool: asyncpg.Pool, invoice_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT txid, output_index, amount_units, block_height, confirmations, state, late"
        " FROM deposits WHERE invoice_id = $1 ORDER BY txid, output_index",
        uuid.UUID(invoice_id),
    )


def pay_in_two_outputs(node: LitecoinNode, address: str, first: Decimal, second: Decimal) -> str:
    """One transaction with two outputs to the same address (sendmany cannot repeat an address)."""
    outputs = []
    for amount in (first, second):
        raw = node.rpc("createrawtransaction", [], [{address: str(amount)}])
        assert raw[8:12] == "0001", raw  # version, no inputs, one output
        outputs.append(raw[12:-8])
    unfunded = raw[:10] + "02" + "".join(outputs) + raw[-8:]
    funded = node.rpc("fundrawtransaction", unfunded, {}, False, wallet=MINER_WALLET)
    signed = node.rpc("signrawtransactionwithwallet", funded["hex"], wallet=MINER_WALLET)
    return node.rpc("sendrawtransaction", signed["hex"])


def make_watcher(settings: Settings, pool: asyncpg.Pool, session, node: LitecoinNode, **options: Any) -> UtxoWatcher:
    return UtxoWatcher("litecoin", settings, pool, BitcoinRpc(node.rpc_url, session), **options)


async def kill_inside_nth_paying_block(poll: Awaitable[None], monkeypatch, n: int) -> None:
    """Run ``poll`` until it is inside the transaction of the n-th block that pays us, then cancel it there.

    The deposits of that block are written but not committed: what a process killed at that moment leaves.
    """
    inside = asyncio.Event()
    record = deposits.record_transfers
    seen = 0

    async def record_then_hang(conn, settings, **kw):
        nonlocal seen
        touched = await record(conn, settings, **kw)
        if touched and kw["block"] is not None:
            seen += 1
            if seen == n:
                inside.set()
                await asyncio.Event().wait()
        return touched

    monkeypatch.setattr(deposits, "record_transfers", record_then_hang)
    task = asyncio.ensure_future(poll)
    try:
        await asyncio.wait_for(inside.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        monkeypatch.undo()


async def poll_through_an_outage(watcher, node, caplog, while_down: Callable[[], Awaitable[None]]) -> None:
    """Stop ``node``: the watcher (polling every 0.2 s) warns once per try with a doubling delay and does not
    even try inside the delay; ``while_down`` checks the gateway meanwhile; after a restart it says it is back.
    """
    logger = type(watcher.adapter).__module__
    node.stop()
    try:
        with caplog.at_level(logging.WARNING, logger=logger):
            await watcher.poll()
            await watcher.poll()  # inside the backoff: does not even try
            await asyncio.sleep(0.25)
            await watcher.poll()
        warnings = [r.getMessage() for r in caplog.records if r.name == logger]
        assert len(warnings) == 2, warnings
        assert all(w.startswith(f"{watcher.chain} node unavailable (") for w in warnings)
        assert "retrying in 0.2 s" in warnings[0] and "retrying in 0.4 s" in warnings[1]
        await while_down()
    finally:
        node.start()
    await asyncio.sleep(0.45)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=logger):
        await watcher.poll()
    assert f"{watcher.chain} node is reachable again after 2 failed polls" in caplog.text


async def poll_until_leading(watcher, seconds: float = 10.0) -> None:
    """Poll until the watcher leads and has done a round (a killed leader's lock goes when its backend exits)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        await watcher.poll()
        if watcher.is_leader:
            return
        assert asyncio.get_running_loop().time() < deadline, "the watcher never took the leader lock"
        await asyncio.sleep(0.05)


async def fill_concurrently(api, company: dict[str, str], code: str, count: int = 24) -> set[str]:
    """Create ``count`` invoices, fill them all at once with ``code``; returns the distinct addresses given."""
    created = []
    for _ in range(count):
        status, body = await api.call(
            "POST",
            "/api/invoices/v1/regular",
            token=company["publicToken"],
            json_body={"invoiceCurrency": "eur", "items": [{"name": "Tea", "price": "3"}]},
        )
        assert status == 201, body
        created.append(body["id"])
    replies = await asyncio.gather(
        *(
            api.call(
                "POST",
                f"/api/invoices/v1/regular/{i}/proceed",
                json_body={"clientEmail": "payer@example.com", "paymentCurrency": code},
            )
            for i in created
        )
    )
    assert all(status == 200 for status, _ in replies), replies
    addresses = {body["address"]["address"] for _, body in replies}
    assert len(addresses) == count
    return addresses
