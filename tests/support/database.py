"""Test databases: one migrated template per session, a fresh copy of it per test."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from coinvoice.db.migrate import migrate
from coinvoice.db.pool import _init_connection

ROOT = Path(__file__).resolve().parents[2]


def server_url() -> str:
    """DATABASE_URL when set, else an embedded pgserver under .data/test-pg."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    from coinvoice.db.embedded import embedded_database_url

    return embedded_database_url(ROOT / ".data" / "test", database="postgres")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _admin(url: str, statement: str) -> None:
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


async def create_template(url: str) -> str:
    name = f"cv_tpl_{uuid.uuid4().hex[:12]}"
    await _admin(url, f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(with_database(url, name))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return name


async def create_from_template(url: str, template: str) -> str:
    name = f"cv_t_{uuid.uuid4().hex[:12]}"
    await _admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


async def drop_database(url: str, name: str) -> None:
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn
