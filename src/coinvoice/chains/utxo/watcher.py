"""The Bitcoin Core-family adapter: blocks and the mempool of btc, ltc, bch nodes into transfers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import asyncpg

from coinvoice.chains.base import Block, BlockGone, PendingScan, Transfer
from coinvoice.chains.follower import BLOCK_BATCH, MAX_BACKOFF_SECONDS, BlockFollower
from coinvoice.chains.utxo.blocks import output_address, parse_tx
from coinvoice.chains.utxo.params import UtxoParams, utxo_params
from coinvoice.chains.utxo.rpc import BitcoinRpc, RpcError
from coinvoice.config import Settings
from coinvoice.domain.transfers import BlockRef
from coinvoice.services import deposits  # noqa: F401  (tests patch deposits.record_transfers through here)

__all__ = ["BLOCK_BATCH", "UtxoAdapter", "UtxoWatcher", "block_ref"]

#: Mempool transactions fetched per RPC batch.
MEMPOOL_BATCH = 200
RPC_BLOCK_NOT_FOUND = (-5, -8)  # invalid address or key / invalid parameter (height out of range)


class UtxoAdapter:
    """Reads one Bitcoin Core-family node (JSON-RPC) for the block follower."""

    def __init__(self, chain: str, params: UtxoParams, rpc: BitcoinRpc) -> None:
        self.chain = chain
        self.params = params
        self._rpc = rpc
        self._mempool_seen: set[str] = set()  # only an optimisation: txids already fetched and matched

    async def check(self) -> None:
        return None

    async def tip(self) -> int:
        return await self._rpc.get_block_count()

    async def block_hashes(self, heights: list[int]) -> dict[int, str]:
        hashes = await self._rpc.batch([("getblockhash", [h]) for h in heights])
        return dict(zip(heights, hashes, strict=True))

    async def fetch_blocks(self, first: int, last: int) -> list[Block]:
        try:
            hashes = await self._rpc.batch([("getblockhash", [h]) for h in range(first, last + 1)])
            blocks = await self._rpc.get_blocks(hashes)
        except RpcError as exc:
            if exc.code in RPC_BLOCK_NOT_FOUND:
                raise BlockGone(str(exc)) from exc
            raise
        return [Block(block_ref(b), b["tx"], _output_addresses(b["tx"])) for b in blocks]

    async def transfers(self, block: Block, ours: Collection[str]) -> list[Transfer]:
        wanted = set(ours)
        return [
            t
            for tx in block.data
            if not wanted.isdisjoint(_output_addresses([tx]))
            for t in parse_tx(tx, self.params, block.ref)
            if t.address in wanted
        ]

    async def pending(self) -> PendingScan:
        mempool = set(await self._rpc.get_raw_mempool())
        fresh = [txid for txid in mempool if txid not in self._mempool_seen]
        transfers = []
        for start in range(0, len(fresh), MEMPOOL_BATCH):
            for tx in await self._raw_transactions(fresh[start : start + MEMPOOL_BATCH]):
                transfers.extend(parse_tx(tx, self.params, None))
        self._mempool_seen = mempool  # bounded by the mempool itself
        return PendingScan(transfers, mempool)

    def forget_pending(self) -> None:
        self._mempool_seen.clear()

    async def _raw_transactions(self, txids: list[str]) -> list[dict[str, Any]]:
        try:
            return await self._rpc.batch([("getrawtransaction", [t, True]) for t in txids])
        except RpcError:  # one left the mempool between the listing and the fetch: take the others one by one
            found = []
            for txid in txids:
                try:
                    found.append(await self._rpc.get_raw_transaction(txid))
                except RpcError:
                    continue
            return found


def UtxoWatcher(  # named like the class it used to be: callers build it the same way
    chain: str,
    settings: Settings,
    pool: asyncpg.Pool,
    rpc: BitcoinRpc,
    *,
    lookback_blocks: int | None = None,
    block_batch: int = BLOCK_BATCH,
    max_backoff: float = MAX_BACKOFF_SECONDS,
) -> BlockFollower:
    """A block follower over a Bitcoin Core-family node."""
    adapter = UtxoAdapter(chain, utxo_params(chain, settings.chain(chain).network), rpc)
    return BlockFollower(
        adapter, settings, pool, lookback_blocks=lookback_blocks, block_batch=block_batch, max_backoff=max_backoff
    )


def block_ref(block_json: dict[str, Any]) -> BlockRef:
    return BlockRef(
        height=int(block_json["height"]),
        hash=block_json["hash"],
        prev_hash=block_json.get("previousblockhash"),
        time=block_json.get("time"),
    )


def _output_addresses(txs: list[dict[str, Any]]) -> set[str]:
    """Every single-payee address the transactions' outputs pay (no amounts parsed)."""
    found = set()
    for tx in txs:
        for vout in tx["vout"]:
            spk = vout["scriptPubKey"]
            address = spk.get("address")
            if address is None:
                addresses = spk.get("addresses")
                address = output_address(spk) if addresses else None
            if address is not None:
                found.add(address)
    return found
