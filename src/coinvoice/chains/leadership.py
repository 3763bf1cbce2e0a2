"""ChainWatcher: what every chain watcher shares whatever it reads: one leader per chain (a PostgreSQL advisory
lock), the node check at start, backoff while the node is down, and one round at a time.

A watcher kind (BlockFollower for block-based chains, AccountScanner for shared addresses) only says what one
round does as leader (`_poll_as_leader`, which returns the node's tip); each successful round is recorded in
`chain_polls` (tip and time) for /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from coinvoice.chains.base import ChainMisconfigured, NodeReader, NodeUnavailable
from coinvoice.config import Settings
from coinvoice.db import chain_watch as db
from coinvoice.db.connection import Conn
from coinvoice.db.leader import LeaderLock
from coinvoice.logcontext import CHAIN

MAX_BACKOFF_SECONDS = 300.0


class ChainWatcher:
    """Polls one chain as its only leader; subclasses say what a round does."""

    def __init__(
        self, adapter: NodeReader, settings: Settings, pool: asyncpg.Pool, *, max_backoff: float = MAX_BACKOFF_SECONDS
    ) -> None:
        self.chain = adapter.chain
        self.adapter = adapter
        self._settings = settings
        self._pool = pool
        self._poll_seconds = settings.chain(self.chain).poll_seconds
        self._max_backoff = max_backoff
        self.log = logging.getLogger(type(adapter).__module__)  # log lines name the family that reads the node
        self._lock = LeaderLock(pool, db.leader_key(self.chain), f"the {self.chain} watcher", self.log)
        self._checked = False
        self.misconfigured: str | None = None  # set once the node proved to be another chain: no more polls
        self._failures = 0
        self._retry_at = 0.0
        self._busy = asyncio.Lock()  # one round at a time; close() waits for the current one

    @property
    def is_leader(self) -> bool:
        return self._lock.held

    async def poll(self) -> None:
        """One round; a no-op unless this instance leads the chain and the node's backoff has passed."""
        if self.misconfigured or time.monotonic() < self._retry_at or self._busy.locked():
            return
        async with self._busy:
            token = CHAIN.set(self.chain)  # every log line of the round names the chain
            try:
                await self._poll_once()
            finally:
                CHAIN.reset(token)

    async def _poll_as_leader(self, conn: Conn) -> int:
        """One round as the chain's leader; returns the node's tip height it worked towards."""
        raise NotImplementedError

    async def _poll_once(self) -> None:
        try:
            if not self._checked:
                await self.adapter.check()
                self._checked = True
            conn = await self._lead()
            if conn is None:
                return
            try:
                tip = await self._poll_as_leader(conn)
                await db.record_poll(conn, self.chain, tip)
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                await self._drop_leadership()
                raise
        except NodeUnavailable as exc:
            self._back_off(exc)
            return
        except ChainMisconfigured as exc:
            self.misconfigured = str(exc)
            self.log.error("%s watcher stopped: %s", self.chain, exc)
            await self._release_leadership()
            return
        if self._failures:
            self.log.warning(
                "%s node is reachable again after %d failed polls; catching up", self.chain, self._failures
            )
            self._failures = 0

    async def close(self, wait_seconds: float = 10.0) -> None:
        """Give up leadership after the current round (another process takes over at its next poll)."""
        try:
            await asyncio.wait_for(self._busy.acquire(), wait_seconds)
        except TimeoutError:
            self.log.warning("%s watcher still busy after %.0f s; dropping its connection", self.chain, wait_seconds)
            await self._drop_leadership()
            return
        try:
            await self._release_leadership()
        finally:
            self._busy.release()

    # --- leadership and backoff ------------------------------------------------------------------

    async def _lead(self) -> PoolConnectionProxy | None:
        return await self._lock.acquire()

    async def _release_leadership(self) -> None:
        await self._lock.release()

    async def _drop_leadership(self) -> None:
        await self._lock.drop()

    def _back_off(self, exc: Exception) -> None:
        self._failures += 1
        delay = min(self._poll_seconds * 2 ** (self._failures - 1), self._max_backoff)
        self._retry_at = time.monotonic() + delay
        self.log.warning("%s node unavailable (%s); retrying in %.1f s", self.chain, exc, delay)
