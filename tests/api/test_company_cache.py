"""The per-process company cache: hits while LISTEN works, bypassed while it does not, never stale."""

from __future__ import annotations

import asyncio

import asyncpg

from coinvoice.db.company_cache import CompanyCache
from coinvoice.services.tokens import token_hash


async def _revoke(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("UPDATE api_tokens SET revoked_at = now()")
    finally:
        await conn.close()


async def test_a_revocation_from_another_process_reaches_the_cache_by_notify(pool, db_url, company):
    cache = CompanyCache(pool, db_url)
    await cache.start()
    try:
        key = token_hash(company["publicToken"])
        assert (await cache.company_for_token(key)).name.startswith("Coffee")
        await _revoke(db_url)
        for _ in range(50):
            if await cache.company_for_token(key) is None:
                break
            await asyncio.sleep(0.02)
        assert await cache.company_for_token(key) is None
    finally:
        await cache.stop()


async def test_the_cache_is_bypassed_while_its_listen_connection_is_down(pool, db_url, company):
    cache = CompanyCache(pool, db_url)
    await cache.start()
    try:
        key = token_hash(company["publicToken"])
        assert await cache.company_for_token(key) is not None
        conn = await asyncpg.connect(db_url)
        try:
            # kill the LISTEN connection, then revoke: no NOTIFY can reach this cache any more
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
                " AND datname = current_database()"
            )
            for _ in range(100):
                if not cache.active:
                    break
                await asyncio.sleep(0.02)
            assert not cache.active
            await conn.execute("UPDATE api_tokens SET revoked_at = now()")
        finally:
            await conn.close()
        assert await cache.company_for_token(key) is None
    finally:
        await cache.stop()
