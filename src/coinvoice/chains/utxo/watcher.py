"""UtxoWatcher: one leader per chain follows a Bitcoin Core-family node's blocks and mempool into deposits."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from coinvoice.chains.base import BlockRef
from coinvoice.chains.utxo.blocks import output_address, parse_tx
from coinvoice.chains.utxo.params import UtxoParams, utxo_params
from coinvoice.chains.utxo.rpc import BitcoinRpc, NodeUnavailable, RpcError
from coinvoice.config import Settings
from coinvoice.db import chain_watch as db
from coinvoice.db.chain_watch import Cursor
from coinvoice.services import deposits

log = logging.getLogger(__name__)

#: Blocks fetched per RPC batch during catch-up; the next batch is fetched while this one is stored.
BLOCK_BATCH = 10
#: Mempool transactions fetched per RPC batch.
MEMPOOL_BATCH = 200
MAX_BACKOFF_SECONDS = 300.0
RPC_BLOCK_NOT_FOUND = (-5, -8)  # invalid address or key / invalid parameter (height out of range)


class UtxoWatcher:
    """Polls one chain: leader lock, reorg check, catch-up block by block, mempool, confirmations."""

    def __init__(
        self,
        chain: str,
        settings: Settings,
        pool: asyncpg.Pool,
        rpc: BitcoinRpc,
        *,
        lookback_blocks: int | None = None,
        block_batch: int = BLOCK_BATCH,
        max_backoff: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        chain_settings = settings.chain(chain)
        self.chain = chain
        self.params: UtxoParams = utxo_params(chain, chain_settings.network)
        self._settings = settings
        self._pool = pool
        self._rpc = rpc
        self._lookback = settings.chain_lookback_blocks if lookback_blocks is None else lookback_blocks
        self._block_batch = block_batch
        self._poll_seconds = chain_settings.poll_seconds
        self._max_backoff = max_backoff
        self._leader: asyncpg.Connection | None = None
        self._mempool_seen: set[str] = set()  # only an optimisation: txids already fetched and matched
        self._missing_unmined: set[str] = set()  # deposits' txids absent from the last mempool scan
        self._failures = 0
        self._retry_at = 0.0
        self._busy = asyncio.Lock()  # one round at a time; close() waits for the current one

    @property
    def is_leader(self) -> bool:
        return self._leader is not None and not self._leader.is_closed()

    async def poll(self) -> None:
        """One round; a no-op unless this instance leads the chain and the node's backoff has passed."""
        if time.monotonic() < self._retry_at or self._busy.locked():
            return
        async with self._busy:
            await self._poll_once()

    async def _poll_once(self) -> None:
        conn = await self._lead()
        if conn is None:
            return
        try:
            await self._poll_as_leader(conn)
        except NodeUnavailable as exc:
            self._back_off(exc)
            return
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
            await self._drop_leadership()
            raise
        if self._failures:
            log.warning("%s node is reachable again after %d failed polls; catching up", self.chain, self._failures)
            self._failures = 0

    async def close(self, wait_seconds: float = 10.0) -> None:
        """Give up leadership after the current round (another process takes over at its next poll)."""
        try:
            await asyncio.wait_for(self._busy.acquire(), wait_seconds)
        except TimeoutError:
            log.warning("%s watcher still busy after %.0f s; dropping its connection", self.chain, wait_seconds)
            await self._drop_leadership()
            return
        try:
            conn, self._leader = self._leader, None
            if conn is not None:
                try:
                    if not conn.is_closed():
                        await db.unlock_leader(conn, self.chain)
                finally:
                    await self._pool.release(conn)
        finally:
            self._busy.release()

    # --- leadership and backoff ------------------------------------------------------------------

    async def _lead(self) -> asyncpg.Connection | None:
        if self._leader is not None:
            if not self._leader.is_closed():
                return self._leader
            await self._drop_leadership()
        conn = await self._pool.acquire()
        try:
            if await db.try_lock_leader(conn, self.chain):
                self._leader = conn
                log.info("leading the %s watcher", self.chain)
                return conn
        except BaseException:
            await self._pool.release(conn)
            raise
        await self._pool.release(conn)
        return None

    async def _drop_leadership(self) -> None:
        conn, self._leader = self._leader, None
        if conn is not None:
            log.warning("lost the database connection of the %s watcher; will retry leadership", self.chain)
            conn.terminate()
            await self._pool.release(conn)

    def _back_off(self, exc: Exception) -> None:
        self._failures += 1
        delay = min(self._poll_seconds * 2 ** (self._failures - 1), self._max_backoff)
        self._retry_at = time.monotonic() + delay
        log.warning("%s node unavailable (%s); retrying in %.1f s", self.chain, exc, delay)

    # --- one round as leader ---------------------------------------------------------------------

    async def _poll_as_leader(self, conn: asyncpg.Connection) -> None:
        tip = await self._rpc.get_block_count()
        cursor = await db.get_cursor(conn, self.chain) or await self._start_cursor(conn, tip)
        for _ in range(3):  # a reorg racing the catch-up is handled at once, a few times at most
            cursor = await self._follow_reorg(conn, cursor, tip)
            cursor, continuous = await self._catch_up(conn, cursor, tip)
            if continuous:
                break
            tip = await self._rpc.get_block_count()
        await self._scan_mempool(conn, tip)
        async with conn.transaction():
            await deposits.refresh_confirmations(conn, self._settings, self.chain, self.params.asset, tip, _now())

    async def _start_cursor(self, conn: asyncpg.Connection, tip: int) -> Cursor:
        height = max(tip - self._lookback, 0)
        cursor = Cursor(height, await self._rpc.get_block_hash(height))
        async with conn.transaction():
            await db.rewind_cursor(conn, self.chain, cursor)
        log.info("%s watcher starts at height %d (tip %d)", self.chain, height, tip)
        return cursor

    async def _node_hashes(self, heights: list[int], tip: int) -> dict[int, str]:
        heights = [h for h in heights if 0 <= h <= tip]
        hashes = await self._rpc.batch([("getblockhash", [h]) for h in heights])
        return dict(zip(heights, hashes, strict=True))

    async def _follow_reorg(self, conn: asyncpg.Connection, cursor: Cursor, tip: int) -> Cursor:
        """The cursor itself when the node still has its block, else the fork point after rewinding to it."""
        if (await self._node_hashes([cursor.height], tip)).get(cursor.height) == cursor.hash:
            return cursor
        stored = await db.recent_blocks(conn, self.chain, cursor.height)
        node = await self._node_hashes([b.height for b in stored], tip)
        fork = next((b for b in stored if node.get(b.height) == b.hash), None)
        if fork is None:
            height = max(min((b.height for b in stored), default=cursor.height) - 1, 0)
            height = min(height, tip)
            fork = Cursor(height, await self._rpc.get_block_hash(height))
            log.error("%s reorg deeper than the %d stored blocks; rewinding to %d", self.chain, db.KEEP_BLOCKS, height)
        async with conn.transaction():
            hit = await deposits.orphan_blocks_above(conn, self._settings, self.chain, fork.height, _now())
            await db.rewind_cursor(conn, self.chain, fork)
        self._mempool_seen.clear()  # orphaned transactions may be back in the mempool
        log.warning(
            "%s reorg: blocks %d..%d replaced, rewound to %d; %d invoices recomputed",
            self.chain,
            fork.height + 1,
            cursor.height,
            fork.height,
            hit,
        )
        return fork

    async def _fetch_blocks(self, first: int, last: int) -> list[dict[str, Any]]:
        hashes = await self._rpc.batch([("getblockhash", [h]) for h in range(first, last + 1)])
        return await self._rpc.get_blocks(hashes)

    async def _catch_up(self, conn: asyncpg.Connection, cursor: Cursor, tip: int) -> tuple[Cursor, bool]:
        """Store blocks cursor+1..tip, one transaction each; False when the chain changed under us."""
        pending: asyncio.Task[list[dict[str, Any]]] | None = None

        def fetch_from(first: int) -> asyncio.Task[list[dict[str, Any]]] | None:
            if first > tip:
                return None
            return asyncio.create_task(self._fetch_blocks(first, min(first + self._block_batch - 1, tip)))

        try:
            pending = fetch_from(cursor.height + 1)
            while pending is not None:
                try:
                    blocks = await pending
                except RpcError as exc:
                    if exc.code in RPC_BLOCK_NOT_FOUND:  # the chain got shorter while we read it
                        return cursor, False
                    raise
                pending = fetch_from(cursor.height + len(blocks) + 1)
                for block_json in blocks:
                    block = block_ref(block_json)
                    if block.prev_hash != cursor.hash:
                        return cursor, False
                    await self._store_block(conn, block, block_json["tx"], tip)
                    cursor = Cursor(block.height, block.hash)
            return cursor, True
        finally:
            if pending is not None:
                pending.cancel()
                pending.add_done_callback(_retrieve)

    async def _store_block(self, conn: asyncpg.Connection, block: BlockRef, txs: list[dict], tip: int) -> None:
        """Match the block's output addresses first; only transactions paying us are parsed into transfers."""
        async with conn.transaction():
            matched = await deposits.match_addresses(conn, self.chain, _output_addresses(txs))
            if matched:
                transfers = [
                    t
                    for tx in txs
                    if not matched.keys().isdisjoint(_output_addresses([tx]))
                    for t in parse_tx(tx, self.params, block)
                    if t.address in matched
                ]
                await self._record(conn, transfers, block, tip, _now(), matched)
            await db.advance_cursor(conn, self.chain, block)

    async def _record(
        self,
        conn: asyncpg.Connection,
        transfers: list,
        block: BlockRef | None,
        tip: int,
        now: datetime,
        matched: dict | None = None,
    ) -> None:
        await deposits.record_transfers(
            conn,
            self._settings,
            chain=self.chain,
            asset=self.params.asset,
            transfers=transfers,
            block=block,
            tip=tip,
            now=now,
            matched=matched,
        )

    async def _scan_mempool(self, conn: asyncpg.Connection, tip: int) -> None:
        """Record payments still in the mempool; orphan unmined deposits gone from it for two scans."""
        mempool = set(await self._rpc.get_raw_mempool())
        fresh = [txid for txid in mempool if txid not in self._mempool_seen]
        transfers = []
        for start in range(0, len(fresh), MEMPOOL_BATCH):
            for tx in await self._raw_transactions(fresh[start : start + MEMPOOL_BATCH]):
                transfers.extend(parse_tx(tx, self.params, None))
        unmined = await db.unmined_txids(conn, self.chain)
        gone = sorted(t for t in unmined - mempool if t in self._missing_unmined)
        async with conn.transaction():
            now = _now()
            await self._record(conn, transfers, None, tip, now)
            if gone:
                hit = await deposits.drop_unmined(conn, self._settings, self.chain, gone, now)
                log.warning(
                    "%s: %d unmined payments left the mempool; %d invoices recomputed", self.chain, len(gone), hit
                )
        self._missing_unmined = unmined - mempool
        self._mempool_seen = mempool  # bounded by the mempool itself

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


def _now() -> datetime:
    return datetime.now(UTC)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark an abandoned prefetch's outcome as seen, so asyncio does not report it."""
    if not task.cancelled():
        task.exception()
