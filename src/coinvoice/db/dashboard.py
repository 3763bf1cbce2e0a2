"""SQL for dashboard users, their sessions, one-time sign-in links and the sign-in throttle."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool

USER_COLUMNS = "u.id, u.company_id, u.email, u.password_hash, u.role, c.name AS company_name"


async def insert_user(
    conn: ConnOrPool, user_id: uuid.UUID, company_id: uuid.UUID, email: str, password_hash: str | None, role: str
) -> bool:
    """False when the email is already a user's (of any company)."""
    inserted = await conn.fetchval(
        "INSERT INTO dashboard_users (id, company_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (email) DO NOTHING RETURNING 1",
        user_id,
        company_id,
        email,
        password_hash,
        role,
    )
    return inserted is not None


async def user_by_email(conn: ConnOrPool, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS} FROM dashboard_users u JOIN companies c ON c.id = u.company_id WHERE u.email = $1",
        email,
    )


async def set_password_hash(conn: ConnOrPool, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute("UPDATE dashboard_users SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def insert_session(
    conn: ConnOrPool, token_hash: bytes, user_id: uuid.UUID, csrf_token: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO dashboard_sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)",
        token_hash,
        user_id,
        csrf_token,
        expires_at,
    )


async def session_user(conn: ConnOrPool, token_hash: bytes) -> asyncpg.Record | None:
    """The user of a live session, with the session's CSRF token."""
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS}, s.csrf_token FROM dashboard_sessions s"
        " JOIN dashboard_users u ON u.id = s.user_id JOIN companies c ON c.id = u.company_id"
        " WHERE s.token_hash = $1 AND s.expires_at > now()",
        token_hash,
    )


async def delete_session(conn: ConnOrPool, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE token_hash = $1", token_hash)


async def delete_user_sessions(conn: ConnOrPool, user_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE user_id = $1 OR expires_at < now()", user_id)


async def insert_link(conn: ConnOrPool, token_hash: bytes, user_id: uuid.UUID, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO dashboard_signin_links (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        user_id,
        expires_at,
    )


async def take_link(conn: Conn, token_hash: bytes) -> asyncpg.Record | None:
    """The user of an unexpired sign-in link, which is used up by this call."""
    user_id = await conn.fetchval(
        "DELETE FROM dashboard_signin_links WHERE token_hash = $1 RETURNING CASE WHEN expires_at > now() THEN user_id END",
        token_hash,
    )
    if user_id is None:
        return None
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS} FROM dashboard_users u JOIN companies c ON c.id = u.company_id WHERE u.id = $1",
        user_id,
    )


async def recent_failures(conn: ConnOrPool, email: str, ip: str, window: timedelta) -> tuple[int, int]:
    """Failed sign-ins within ``window``: (for this account, from this address)."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE email = $1) AS by_email, count(*) FILTER (WHERE ip = $2) AS by_ip"
        " FROM dashboard_signin_failures WHERE failed_at > now() - $3::interval AND (email = $1 OR ip = $2)",
        email,
        ip,
        window,
    )
    assert row is not None
    return int(row["by_email"]), int(row["by_ip"])


async def record_failure(conn: ConnOrPool, email: str, ip: str, window: timedelta) -> int:
    """Count a sign-in attempt as failed (until its password is proven); returns its row id."""
    row_id = await conn.fetchval(
        "WITH old AS (DELETE FROM dashboard_signin_failures WHERE failed_at < now() - $3::interval)"
        " INSERT INTO dashboard_signin_failures (email, ip) VALUES ($1, $2) RETURNING id",
        email,
        ip,
        window,
    )
    assert row_id is not None
    return int(row_id)


async def forget_failure(conn: ConnOrPool, row_id: int) -> None:
    await conn.execute("DELETE FROM dashboard_signin_failures WHERE id = $1", row_id)


async def clear_failures(conn: ConnOrPool, email: str) -> None:
    await conn.execute("DELETE FROM dashboard_signin_failures WHERE email = $1", email)


async def company_users(conn: ConnOrPool, company_id: uuid.UUID) -> list[asyncpg.Record]:
    """A company's users, oldest first, with whether each has a password and how many live sessions."""
    return await conn.fetch(
        "SELECT u.id, u.email, u.role, u.created_at, u.password_hash IS NOT NULL AS has_password,"
        " (SELECT count(*) FROM dashboard_sessions s WHERE s.user_id = u.id AND s.expires_at > now()) AS sessions"
        " FROM dashboard_users u WHERE u.company_id = $1 ORDER BY u.created_at, u.email",
        company_id,
    )


async def lock_company_roles(conn: Conn, company_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Every user's role in the company, the rows locked until the transaction ends (the last-owner rule)."""
    rows = await conn.fetch(
        "SELECT id, role FROM dashboard_users WHERE company_id = $1 ORDER BY id FOR UPDATE", company_id
    )
    return {r["id"]: r["role"] for r in rows}


async def set_role(conn: Conn, user_id: uuid.UUID, role: str) -> None:
    await conn.execute("UPDATE dashboard_users SET role = $2 WHERE id = $1", user_id, role)


async def delete_user(conn: Conn, user_id: uuid.UUID) -> None:
    """Remove a user; their sessions and sign-in links go with them (ON DELETE CASCADE)."""
    await conn.execute("DELETE FROM dashboard_users WHERE id = $1", user_id)
