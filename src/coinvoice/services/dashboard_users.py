"""Dashboard users: create (CLI or an owner's invitation), list, change role, remove; sign in with an argon2id password or a one-time link, sessions, throttling."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from coinvoice.db import dashboard as db
from coinvoice.domain.errors import Conflict, Invalid, NotFound
from coinvoice.domain.text import email_problem
from coinvoice.services.tokens import token_hash

ROLES = ("owner", "viewer")
SESSION_LIFETIME = timedelta(days=7)
LINK_LIFETIME = timedelta(hours=24)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
#: Failed sign-ins counted over this window; at the limits further tries are refused until old ones age out.
THROTTLE_WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
#: Verified against when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY: list[str] = []


async def _hash(password: str) -> str:
    """argon2id in a worker thread: about 50 ms of CPU and 64 MiB that must not stall the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(stored: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False


class Throttled(Exception):
    """Too many failed sign-ins for this account or from this address: try again later."""


@dataclass(frozen=True, slots=True)
class DashboardUser:
    id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    email: str
    role: str
    csrf_token: str = ""

    @property
    def can_write(self) -> bool:
        return self.role == "owner"


def _user(row: asyncpg.Record | Any, csrf: str = "") -> DashboardUser:
    return DashboardUser(row["id"], row["company_id"], row["company_name"], row["email"], row["role"], csrf)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid(
            "weak_password", f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long", "password"
        )


async def create_user(
    pool: asyncpg.Pool, company_id: uuid.UUID, email: str, role: str, password: str | None
) -> dict[str, Any]:
    """Create a user; without a password the result carries a one-time sign-in token (valid 24 h)."""
    email = normalize_email(email)
    if email_problem(email):
        raise Invalid("invalid_email", "email must be a valid email address", "email")
    _check_role(role)
    if password is not None:
        _check_password(password)
    user_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM companies WHERE id = $1)", company_id):
            raise NotFound("company_not_found", f"no company {company_id}", "company")
        hashed = await _hash(password) if password is not None else None
        if not await db.insert_user(conn, user_id, company_id, email, hashed, role):
            raise Conflict("email_in_use", "a dashboard user with this email exists", "email")
        result: dict[str, Any] = {"id": str(user_id), "companyId": str(company_id), "email": email, "role": role}
        if password is None:
            token = secrets.token_urlsafe(32)
            await db.insert_link(conn, token_hash(token), user_id, datetime.now(UTC) + LINK_LIFETIME)
            result["signInToken"] = token
    return result


async def new_sign_in_link(pool: asyncpg.Pool, email: str) -> dict[str, Any]:
    """A fresh one-time sign-in token for an existing user (a forgotten password): valid 24 h, used once."""
    row = await db.user_by_email(pool, normalize_email(email))
    if row is None:
        raise NotFound("user_not_found", "no dashboard user with this email", "email")
    token = secrets.token_urlsafe(32)
    await db.insert_link(pool, token_hash(token), row["id"], datetime.now(UTC) + LINK_LIFETIME)
    return {"id": str(row["id"]), "email": row["email"], "role": row["role"], "signInToken": token}


async def _open_session(pool: asyncpg.Pool, row: asyncpg.Record) -> tuple[str, DashboardUser]:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await db.insert_session(pool, token_hash(token), row["id"], csrf, datetime.now(UTC) + SESSION_LIFETIME)
    return token, _user(row, csrf)


async def sign_in(pool: asyncpg.Pool, email: str, password: str, ip: str) -> tuple[str, DashboardUser] | None:
    """(session token, user), or None for a wrong email or password; Throttled after too many failures."""
    email = normalize_email(email)[:254]
    # counted as a failure first, so that concurrent tries (any process) cannot all slip under the limit
    attempt = await db.record_failure(pool, email, ip, THROTTLE_WINDOW)
    by_email, by_ip = await db.recent_failures(pool, email, ip, THROTTLE_WINDOW)
    if by_email > ACCOUNT_LIMIT or by_ip > ADDRESS_LIMIT:
        await db.forget_failure(pool, attempt)  # a refused try is not one more failure
        raise Throttled()
    row = await db.user_by_email(pool, email)
    if not _DUMMY:
        _DUMMY.append(await _hash(secrets.token_urlsafe(16)))
    stored = row["password_hash"] if row and row["password_hash"] else _DUMMY[0]
    ok = await _verify(stored, password[:MAX_PASSWORD])
    if row is None or row["password_hash"] is None or not ok:
        return None
    await db.clear_failures(pool, email)
    if _hasher.check_needs_rehash(row["password_hash"]):
        await db.set_password_hash(pool, row["id"], await _hash(password))
    return await _open_session(pool, row)


async def sign_in_with_link(pool: asyncpg.Pool, token: str) -> tuple[str, DashboardUser] | None:
    """Use up a one-time sign-in link; None when it is unknown, used or expired."""
    if not token.isascii() or len(token) > 100:
        return None
    async with pool.acquire() as conn, conn.transaction():
        row = await db.take_link(conn, token_hash(token))
    if row is None:
        return None
    return await _open_session(pool, row)


async def session_user(pool: asyncpg.Pool, token: str) -> DashboardUser | None:
    if not token.isascii() or len(token) > 100:
        return None
    row = await db.session_user(pool, token_hash(token))
    return None if row is None else _user(row, row["csrf_token"])


async def set_password(pool: asyncpg.Pool, user: DashboardUser, password: str) -> None:
    _check_password(password)
    await db.set_password_hash(pool, user.id, await _hash(password))


async def sign_out(pool: asyncpg.Pool, token: str) -> None:
    await db.delete_session(pool, token_hash(token))


async def sign_out_everywhere(pool: asyncpg.Pool, user: DashboardUser) -> None:
    """End every session of the user, in every browser."""
    await db.delete_user_sessions(pool, user.id)


async def list_users(pool: asyncpg.Pool, company_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {
            "id": str(r["id"]),
            "email": r["email"],
            "role": r["role"],
            "createdAt": r["created_at"],
            "hasPassword": r["has_password"],
            "sessions": int(r["sessions"]),
        }
        for r in await db.company_users(pool, company_id)
    ]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid("invalid_role", f"role must be one of {', '.join(ROLES)}", "role")


async def _locked_roles(conn: Any, company_id: uuid.UUID, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
    roles: dict[uuid.UUID, str] = await db.lock_company_roles(conn, company_id)
    if user_id not in roles:
        raise NotFound("user_not_found", "no user of this company with this id", "id")
    return roles


def _keep_an_owner(roles: dict[uuid.UUID, str], user_id: uuid.UUID, what: str) -> None:
    if roles[user_id] == "owner" and sum(1 for r in roles.values() if r == "owner") == 1:
        raise Conflict("last_owner", f"cannot {what} the company's last owner: make another user owner first", "id")


async def change_role(pool: asyncpg.Pool, company_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """Make a user owner or viewer (effective on their next request); the last owner cannot be demoted."""
    _check_role(role)
    async with pool.acquire() as conn, conn.transaction():
        roles = await _locked_roles(conn, company_id, user_id)
        if role != "owner":
            _keep_an_owner(roles, user_id, "demote")
        await db.set_role(conn, user_id, role)


async def remove_user(pool: asyncpg.Pool, company_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Remove a user of the company, ending their sessions and unused sign-in links; never the last owner."""
    async with pool.acquire() as conn, conn.transaction():
        roles = await _locked_roles(conn, company_id, user_id)
        _keep_an_owner(roles, user_id, "remove")
        await db.delete_user(conn, user_id)
