"""LeaderLock: one leader per key across every process, as a session-level advisory lock on a pooled connection.

The chain watchers and the rate refresh each hold one. The lock lasts as long as the connection: a process that
dies (or loses its connection) loses it, and another process takes it at its next try.
"""

from __future__ import annotations

import logging

import asyncpg
from asyncpg.pool import PoolConnectionProxy


class LeaderLock:
    """Leadership of ``what`` (for log lines, e.g. "the litecoin watcher"), keyed by ``key``."""

    def __init__(self, pool: asyncpg.Pool, key: str, what: str, log: logging.Logger) -> None:
        self._pool = pool
        self._key = key
        self._what = what
        self._log = log
        self._conn: PoolConnectionProxy | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None and not _lost(self._conn)

    async def acquire(self) -> PoolConnectionProxy | None:
        """The leader's connection if this process leads (taking the lock when it is free), else None."""
        if self._conn is not None:
            if not _lost(self._conn):
                return self._conn
            await self.drop()
        conn = await self._pool.acquire()
        try:
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self._key):
                self._conn = conn
                self._log.info("leading %s", self._what)
                return conn
        except BaseException:
            conn.terminate()  # it may hold the lock (cancelled after the server granted it): never pool that
            await self._pool.release(conn)
            raise
        await self._pool.release(conn)
        return None

    async def release(self) -> None:
        """Give the lock back and the connection to the pool (a clean stop)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if not _lost(conn):
                    await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", self._key)
            except BaseException:
                conn.terminate()  # the pool does not reset sessions (db/pool.py): a held lock must not go back
                raise
            finally:
                await self._pool.release(conn)

    async def drop(self) -> None:
        """The connection failed (or must be abandoned): close it, which frees the lock server-side."""
        conn, self._conn = self._conn, None
        if conn is not None:
            # info: a database outage is logged once by the scheduler, not once per lock
            self._log.info("lost the database connection of %s; will retry leadership", self._what)
            if not _lost(conn):
                conn.terminate()
            await self._pool.release(conn)  # a no-op for a connection asyncpg already took back


def _lost(conn: PoolConnectionProxy) -> bool:
    """Closed, or detached from its proxy: asyncpg gives a checked-out connection that died back to the pool
    itself, after which every call on the proxy raises InterfaceError."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True
