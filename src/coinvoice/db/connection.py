"""The connection types repositories and use cases take: a pooled connection or a direct one, or the pool."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

#: a connection that can hold a transaction: what ``pool.acquire()`` yields, or one from ``asyncpg.connect()``
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy
#: anything that runs a single statement: a connection or the pool itself
ConnOrPool: TypeAlias = Conn | asyncpg.Pool
