"""The migration runner: applies sql/NNNN_*.sql in order, once each, under an advisory lock."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from coinvoice.db.connection import Conn

log = logging.getLogger(__name__)
_LOCK_ID = 0x636F696E  # "coin"


def sql_dir() -> Path:
    """The folder of numbered migrations: COINVOICE_SQL_DIR, else ``sql/`` at the project root."""
    if env := os.environ.get("COINVOICE_SQL_DIR"):
        return Path(env)
    return Path(__file__).resolve().parents[3] / "sql"


def migration_files(folder: Path | None = None) -> list[Path]:
    files = sorted((folder or sql_dir()).glob("[0-9][0-9][0-9][0-9]_*.sql"))
    if not files:
        raise RuntimeError(f"no migrations found in {folder or sql_dir()}")
    return files


async def migrate(conn: Conn, folder: Path | None = None) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied now."""
    applied_now = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for path in migration_files(folder):
            if path.stem in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", path.stem)
            log.info("applied migration %s", path.name)
            applied_now.append(path.stem)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied_now


async def pending_migrations(conn: Conn, folder: Path | None = None) -> list[str]:
    """The migrations on disk that this database has not applied (all of them when it has none)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")} if exists else set()
    return [p.stem for p in migration_files(folder) if p.stem not in done]
