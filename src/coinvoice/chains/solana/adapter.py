"""The Solana adapter: each merchant address's signatures since a cursor, their transactions into SOL transfers.

Cost grows with the merchant addresses that have open invoices and the transactions they receive, never with the
number of invoices: references are matched in the database, not polled one by one. Commitment ``confirmed``
makes a payment seen (processing); confirmations count from the ``finalized`` slot, so with the default of 1 a
payment is confirmed once its slot is finalized.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

import aiohttp

from coinvoice.chains.base import AccountEntry, ChainMisconfigured, NodeUnavailable
from coinvoice.chains.solana.rpc import SolanaRpc
from coinvoice.config import Settings
from coinvoice.domain.chains import Chain
from coinvoice.domain.transfers import BlockRef, Transfer

#: getSignaturesForAddress answers at most this many signatures per call.
SIGNATURES_PAGE = 1000
#: getSignatureStatuses takes at most this many signatures per call.
STATUSES_PAGE = 256
#: getTransaction calls in flight at once.
PARALLEL_FETCHES = 8
#: Deposit index of the SOL a transaction brought; SPL token transfers will use 1 + their token-balance index.
NATIVE_INDEX = 0
#: The genesis hash of each public cluster; a local validator (regtest) may have any.
GENESIS = {
    "mainnet": {"5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"},
    "testnet": {"EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG", "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY"},
}
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError)


class SolanaAdapter:
    """Reads a Solana JSON-RPC node for the account scanner."""

    def __init__(self, chain: Chain, rpc: SolanaRpc, *, network: str = "mainnet") -> None:
        self.chain = chain.name
        self.native = chain.native
        self.network = network
        self._rpc = rpc

    @classmethod
    def from_settings(cls, chain: Chain, settings: Settings, session: aiohttp.ClientSession) -> SolanaAdapter:
        chain_settings = settings.chain(chain.name)
        assert chain_settings.rpc_url is not None
        return cls(chain, SolanaRpc(chain_settings.rpc_url, session), network=chain_settings.network)

    async def check(self) -> None:
        expected = GENESIS.get(self.network)
        if expected is None:
            return
        genesis = await self._rpc.call("getGenesisHash")
        if genesis not in expected:
            raise ChainMisconfigured(
                f"the node at the {self.chain} RPC URL has genesis hash {genesis}, not the {self.network} cluster's "
                f"(check COINVOICE_SOL_RPC_URL and COINVOICE_SOL_NETWORK); not watching {self.chain}"
            )

    async def tip(self) -> int:
        slot = await self._rpc.call("getSlot", {"commitment": "finalized"})
        if not isinstance(slot, int):
            raise NodeUnavailable(f"getSlot answered {slot!r:.100}")
        return slot

    async def history(self, address: str, cursor: str | None, since: int) -> list[AccountEntry]:
        """Signatures after ``cursor`` (newest first from the node, paged with ``before``), back to ``since``."""
        found: list[AccountEntry] = []
        before: str | None = None
        while True:
            options: dict[str, Any] = {"limit": SIGNATURES_PAGE, "commitment": "confirmed"}
            if cursor:
                options["until"] = cursor
            if before:
                options["before"] = before
            page = await self._rpc.call("getSignaturesForAddress", address, options)
            try:
                for item in page:
                    if item.get("blockTime") is not None and item["blockTime"] < since:
                        return found[::-1]
                    found.append(AccountEntry(item["signature"], item.get("blockTime"), item))
            except UNREADABLE as exc:
                raise NodeUnavailable(f"getSignaturesForAddress answered garbage: {exc!r}") from exc
            if len(page) < SIGNATURES_PAGE:
                return found[::-1]
            before = page[-1]["signature"]

    async def transfers(self, address: str, entries: list[AccountEntry]) -> list[Transfer]:
        """SOL each successful transaction brought to ``address`` (its balance change), with the keys it names."""
        wanted = [e for e in entries if (e.data or {}).get("err") is None]  # a failed transaction never pays
        limit = asyncio.Semaphore(PARALLEL_FETCHES)

        async def fetch(signature: str) -> Any:
            async with limit:
                return await self._rpc.call(
                    "getTransaction",
                    signature,
                    {"encoding": "jsonParsed", "commitment": "confirmed", "maxSupportedTransactionVersion": 0},
                )

        replies = await asyncio.gather(*(fetch(e.cursor) for e in wanted))
        found = []
        for entry, tx in zip(wanted, replies, strict=True):
            if tx is None:  # listed but not readable yet at this commitment: try the chunk again next round
                raise NodeUnavailable(f"getTransaction {entry.cursor} is not available yet")
            try:
                transfer = parse_transaction(self.chain, self.native, address, entry.cursor, tx)
            except UNREADABLE as exc:
                raise NodeUnavailable(f"getTransaction {entry.cursor} cannot be read: {exc!r}") from exc
            if transfer is not None:
                found.append(transfer)
        return found

    async def still_there(self, address: str, txids: Collection[str], since: int) -> set[str]:
        signatures = sorted(txids)
        there: set[str] = set()
        for start in range(0, len(signatures), STATUSES_PAGE):
            page = signatures[start : start + STATUSES_PAGE]
            reply = await self._rpc.call("getSignatureStatuses", page, {"searchTransactionHistory": True})
            try:
                statuses = reply["value"]
            except UNREADABLE as exc:
                raise NodeUnavailable(f"getSignatureStatuses answered garbage: {exc!r}") from exc
            there.update(sig for sig, status in zip(page, statuses, strict=True) if status is not None)
        return there


def parse_transaction(chain: str, native: str, address: str, signature: str, tx: dict[str, Any]) -> Transfer | None:
    """The SOL a ``jsonParsed`` transaction brought to ``address``: its balance change, when positive and the
    transaction succeeded. Its references are the keys it names read-only without signing (Solana Pay)."""
    meta = tx["meta"]
    if meta is None or meta.get("err") is not None:
        return None
    keys = [_pubkey(k) for k in tx["transaction"]["message"]["accountKeys"]]
    loaded = meta.get("loadedAddresses") or {}
    if keys and isinstance(tx["transaction"]["message"]["accountKeys"][0], str):  # "json" encoding: no lookups
        keys += list(loaded.get("writable", [])) + list(loaded.get("readonly", []))
    if address not in keys:
        return None
    at = keys.index(address)
    received = int(meta["postBalances"][at]) - int(meta["preBalances"][at])
    if received <= 0:
        return None
    references = tuple(
        k["pubkey"]
        for k in tx["transaction"]["message"]["accountKeys"]
        if isinstance(k, dict) and not k.get("signer") and not k.get("writable")
    )
    slot = int(tx["slot"])
    block = BlockRef(slot, str(slot), None, tx.get("blockTime"))
    return Transfer(chain, signature, NATIVE_INDEX, address, received, native, block, references=references)


def _pubkey(key: Any) -> str:
    return str(key["pubkey"] if isinstance(key, dict) else key)
