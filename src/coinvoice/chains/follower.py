"""BlockFollower: one leader per chain follows a node's blocks (and mempool) into deposits, for any family.

The cursor and recent block hashes, reorg walk-back, catch-up one transaction per block with a progress line,
the mempool and confirmations live here, leadership and backoff in `chains/leadership.py`; a family's
ChainAdapter only turns blocks into transfers.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from coinvoice.chains.allocated import AllocatedAddresses
from coinvoice.chains.base import Block, BlockGone, ChainAdapter
from coinvoice.chains.leadership import MAX_BACKOFF_SECONDS, ChainWatcher
from coinvoice.config import Settings
from coinvoice.db import chain_watch as db
from coinvoice.db.chain_watch import Cursor
from coinvoice.db.connection import Conn
from coinvoice.services import deposits

#: Blocks fetched per batch during catch-up; the next batch is fetched while this one is stored.
BLOCK_BATCH = 10
#: A progress line in the log every this many blocks of a long catch-up.
PROGRESS_EVERY = 1000


class BlockFollower(ChainWatcher):
    """Follows one chain's blocks: reorg check, catch-up block by block, mempool, confirmations."""

    adapter: ChainAdapter

    def __init__(
        self,
        adapter: ChainAdapter,
        settings: Settings,
        pool: asyncpg.Pool,
        *,
        lookback_blocks: int | None = None,
        block_batch: int = BLOCK_BATCH,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        progress_every: int = PROGRESS_EVERY,
    ) -> None:
        super().__init__(adapter, settings, pool, max_backoff=max_backoff)
        self._lookback = settings.chain_lookback_blocks if lookback_blocks is None else lookback_blocks
        self._block_batch = block_batch
        self._progress_every = progress_every
        self._missing_unmined: set[str] = set()  # deposits' txids absent from the last mempool scan
        # blocks and the mempool are matched in memory first; only candidates are looked up in PostgreSQL
        self.allocated = AllocatedAddresses(self.chain)

    # --- one round as leader ---------------------------------------------------------------------

    async def _poll_as_leader(self, conn: Conn) -> int:
        tip = await self.adapter.tip()
        await db.record_tip(conn, self.chain, tip)
        cursor = await db.get_cursor(conn, self.chain) or await self._start_cursor(conn, tip)
        for _ in range(3):  # a reorg racing the catch-up is handled at once, a few times at most
            cursor = await self._follow_reorg(conn, cursor, tip)
            cursor, continuous = await self._catch_up(conn, cursor, tip)
            if continuous:
                break
            tip = await self.adapter.tip()
        await self._scan_pending(conn, tip)
        async with conn.transaction():
            await deposits.refresh_confirmations(conn, self._settings, self.chain, tip, _now())
        return tip

    async def _start_cursor(self, conn: Conn, tip: int) -> Cursor:
        height = max(tip - self._lookback, 0)
        cursor = Cursor(height, (await self.adapter.block_hashes([height]))[height])
        async with conn.transaction():
            await db.rewind_cursor(conn, self.chain, cursor)
        self.log.info("%s watcher starts at height %d (tip %d)", self.chain, height, tip)
        return cursor

    async def _follow_reorg(self, conn: Conn, cursor: Cursor, tip: int) -> Cursor:
        """The cursor itself when the node still has its block, else the fork point after rewinding to it."""
        heights = [cursor.height] if cursor.height <= tip else []
        if (await self.adapter.block_hashes(heights)).get(cursor.height) == cursor.hash:
            return cursor
        stored = await db.recent_blocks(conn, self.chain, cursor.height)
        node = await self.adapter.block_hashes([b.height for b in stored if b.height <= tip])
        fork = next((b for b in stored if node.get(b.height) == b.hash), None)
        if fork is None:
            height = max(min((b.height for b in stored), default=cursor.height) - 1, 0)
            height = min(height, tip)
            fork = Cursor(height, (await self.adapter.block_hashes([height]))[height])
            self.log.error(
                "%s reorg deeper than the %d stored blocks; rewinding to %d", self.chain, db.KEEP_BLOCKS, height
            )
        async with conn.transaction():
            hit = await deposits.orphan_blocks_above(conn, self._settings, self.chain, fork.height, _now())
            await db.rewind_cursor(conn, self.chain, fork)
        self.adapter.forget_pending()  # orphaned transactions may be back in the mempool
        self.log.warning(
            "%s reorg: blocks %d..%d replaced, rewound to %d; %d invoices recomputed",
            self.chain,
            fork.height + 1,
            cursor.height,
            fork.height,
            hit,
        )
        return fork

    async def _catch_up(self, conn: Conn, cursor: Cursor, tip: int) -> tuple[Cursor, bool]:
        """Store blocks cursor+1..tip, one transaction each; False when the chain changed under us."""
        pending: asyncio.Task[list[Block]] | None = None
        start = cursor.height
        started = time.monotonic()

        def fetch_from(first: int) -> asyncio.Task[list[Block]] | None:
            if first > tip:
                return None
            return asyncio.create_task(self.adapter.fetch_blocks(first, min(first + self._block_batch - 1, tip)))

        try:
            pending = fetch_from(cursor.height + 1)
            while pending is not None:
                try:
                    blocks = await pending
                except BlockGone:
                    return cursor, False
                pending = fetch_from(cursor.height + len(blocks) + 1)
                linked = _linked(blocks, cursor)
                cursor = await self._store_blocks(conn, linked, tip, start, started) or cursor
                if len(linked) < len(blocks):
                    return cursor, False
            return cursor, True
        finally:
            if pending is not None:
                pending.cancel()
                pending.add_done_callback(_retrieve)

    def _progress(self, start: int, height: int, tip: int, started: float) -> None:
        done = height - start
        if done and done % self._progress_every == 0 and height < tip:
            rate = done / max(time.monotonic() - started, 1e-9)
            self.log.info(
                "%s catch-up at %d of %d (%d blocks behind, %.0f blocks/s)", self.chain, height, tip, tip - height, rate
            )

    async def _store_blocks(
        self, conn: Conn, blocks: list[Block], tip: int, start: int, started: float
    ) -> Cursor | None:
        """Store a batch of linked blocks; returns the new cursor (None for an empty batch).

        The batch's addresses are matched against the in-memory set of allocated ones, the candidates in one
        query. A block paying us is stored in a transaction of its own (its deposits, statuses, events and the
        cursor commit together); the runs of blocks between them only advance the cursor, one transaction per run.
        """
        if not blocks:
            return None
        matched = await self.allocated.match(conn, set().union(*(b.addresses for b in blocks)))
        run: list[Block] = []
        for block in blocks:
            ours = {a: matched[a] for a in block.addresses if a in matched}
            if ours:
                await self._advance(conn, run)
                run = []
                await self._store_paying_block(conn, block, ours, tip)
            else:
                run.append(block)
            self._progress(start, block.ref.height, tip, started)
        await self._advance(conn, run)
        return Cursor(blocks[-1].ref.height, blocks[-1].ref.hash)

    async def _advance(self, conn: Conn, run: list[Block]) -> None:
        if run:
            async with conn.transaction():
                await db.advance_cursor_over(conn, self.chain, [b.ref for b in run])

    async def _store_paying_block(self, conn: Conn, block: Block, matched: dict[str, Any], tip: int) -> None:
        """Read the transfers to our addresses and record them with the cursor, in one transaction."""
        async with conn.transaction():
            transfers = await self.adapter.transfers(block, matched.keys())
            await deposits.record_transfers(
                conn,
                self._settings,
                chain=self.chain,
                transfers=transfers,
                block=block.ref,
                tip=tip,
                now=_now(),
                matched=matched,
            )
            await db.advance_cursor(conn, self.chain, block.ref)

    async def _scan_pending(self, conn: Conn, tip: int) -> None:
        """Record payments still in the mempool; orphan unmined deposits gone from it for two scans."""
        scan = await self.adapter.pending()
        if scan is None:
            return
        unmined = await db.unmined_txids(conn, self.chain)
        gone = sorted(t for t in unmined - scan.txids if t in self._missing_unmined)
        matched = await self.allocated.match(conn, {t.address for t in scan.transfers}) if scan.transfers else {}
        async with conn.transaction():
            now = _now()
            await deposits.record_transfers(
                conn,
                self._settings,
                chain=self.chain,
                transfers=scan.transfers,
                block=None,
                tip=tip,
                now=now,
                matched=matched,
            )
            if gone:
                hit = await deposits.drop_unmined(conn, self._settings, self.chain, gone, now)
                self.log.warning(
                    "%s: %d unmined payments left the mempool; %d invoices recomputed", self.chain, len(gone), hit
                )
        self._missing_unmined = unmined - scan.txids


def _linked(blocks: list[Block], cursor: Cursor) -> list[Block]:
    """The leading blocks that follow on from the cursor and each other (the chain changed after a break)."""
    linked: list[Block] = []
    previous = cursor.hash
    for block in blocks:
        if block.ref.prev_hash != previous:
            break
        linked.append(block)
        previous = block.ref.hash
    return linked


def _now() -> datetime:
    return datetime.now(UTC)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark an abandoned prefetch's outcome as seen, so asyncio does not report it."""
    if not task.cancelled():
        task.exception()
