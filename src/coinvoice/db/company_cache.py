"""A per-process cache of token -> company profile, dropped whenever PostgreSQL says a company changed.

Triggers (sql/0004) send NOTIFY coinvoice_company_change on any change to companies, tokens or assets;
every process LISTENs and clears its cache. While the listening connection is down the cache is bypassed,
so a revoked token never outlives the notification that revoked it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg

from coinvoice.db.companies import CompanyProfile, company_for_token

log = logging.getLogger(__name__)
CHANNEL = "coinvoice_company_change"


class CompanyCache:
    def __init__(self, pool: asyncpg.Pool, dsn: str, ttl: float = 60.0, max_entries: int = 10_000):
        self._pool = pool
        self._dsn = dsn
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[bytes, tuple[float, CompanyProfile]] = {}
        self._listener: asyncpg.Connection | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._stopping = False
        self._generation = 0  # bumped by every clear: a lookup that raced a change is not stored

    @property
    def active(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    async def start(self) -> None:
        try:
            await self._listen()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("company cache disabled until LISTEN works: %s", exc)
            self._schedule_reconnect()

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnect:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        if self._listener and not self._listener.is_closed():
            await self._listener.close()

    async def company_for_token(self, token_hash: bytes) -> CompanyProfile | None:
        if not self.active:
            return await company_for_token(self._pool, token_hash)
        hit = self._entries.get(token_hash)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        generation = self._generation
        profile = await company_for_token(self._pool, token_hash)
        if (
            profile is not None and self.active and generation == self._generation
        ):  # unknown tokens are not cached: no memory for guessers
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[token_hash] = (now + self._ttl, profile)
        return profile

    def clear(self, *_: object) -> None:
        self._generation += 1
        self._entries.clear()

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        conn.add_termination_listener(self._lost)
        await conn.add_listener(CHANNEL, self.clear)
        self._listener = conn
        self.clear()

    def _lost(self, *_: object) -> None:
        if self._stopping:
            return
        log.warning("company cache lost its LISTEN connection; bypassing the cache until it is back")
        self._listener = None
        self.clear()
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = 1.0
        while not self.active:
            await asyncio.sleep(delay)
            try:
                await self._listen()
                log.info("company cache listening again")
            except (OSError, asyncpg.PostgresError):
                delay = min(delay * 2, 30.0)
