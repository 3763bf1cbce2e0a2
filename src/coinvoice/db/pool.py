"""Connection pool set-up: JSON codecs and the database URL (DATABASE_URL or the embedded server)."""

from __future__ import annotations

import json

import asyncpg

from coinvoice.config import Settings
from coinvoice.jsonenc import dumps


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    from coinvoice.db.embedded import embedded_database_url

    return embedded_database_url(settings.data_dir)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=dumps, decoder=json.loads, schema="pg_catalog")


#: Seconds to open a connection: while the database is down a request fails fast (503) instead of hanging.
CONNECT_TIMEOUT = 5.0


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, timeout=CONNECT_TIMEOUT
    )
    assert pool is not None
    return pool
