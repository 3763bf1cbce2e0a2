"""Starting on a fresh database: migrations run before any scheduled job touches a table."""

from __future__ import annotations

import asyncio
import logging

from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from tests.support import database


async def test_serve_on_a_fresh_database_migrates_before_jobs_run(pg_url, settings, caplog):
    name = await database.create_from_template(pg_url, "template0")
    try:
        app = create_app(settings, dsn=database.with_database(pg_url, name), role="worker", run_migrations=True)
        server = TestServer(app, host="127.0.0.1")
        with caplog.at_level(logging.WARNING):
            await server.start_server()
            try:
                await asyncio.sleep(1.5)
            finally:
                await server.close()
        problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not problems, [r.getMessage() for r in problems]
        assert "UndefinedTable" not in caplog.text
    finally:
        await database.drop_database(pg_url, name)
