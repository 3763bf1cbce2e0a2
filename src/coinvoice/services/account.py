"""Merchant account use cases: settings, the webhook URL, underpayment limits and secret key rotation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import account as db
from coinvoice.domain import brand
from coinvoice.domain.assets import COMPANY_ASSETS, payment_assets_of
from coinvoice.domain.billing import solidgate_type
from coinvoice.domain.errors import Invalid
from coinvoice.domain.money import fmt
from coinvoice.domain.text import email_problem
from coinvoice.net.urlcheck import check_webhook_url
from coinvoice.services.events import record
from coinvoice.services.tokens import new_key_salt, secret_key_from_salt, token_hash
from coinvoice.services.views import wire_time

DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=30)
MAX_STATIC_DECIMALS = 18  # an asset no chain of ours carries yet (near) keeps this many places


def _settings_wire(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "name": row["name"],
        "logoUrl": row["logo_url"],
        "redirectURL": row["redirect_url"],
        "webHookUrl": row["webhook_url"],
        "supportUrl": row["support_url"],
        "supportEmail": row["support_email"],
        "brandColor": row["brand_color"],
        "brandPalette": brand.wire(row["brand_color"]),  # what the page shows: adjusted for contrast if needed
    }


async def get_settings(pool: asyncpg.Pool, company_id: uuid.UUID) -> dict[str, Any]:
    return _settings_wire(await db.company_settings(pool, company_id))


async def update_settings(pool: asyncpg.Pool, company_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """Change name, logoUrl, redirectURL, supportUrl, supportEmail and brandColor (the keys present in ``changes``;
    None clears)."""
    if "name" in changes and changes["name"] is None:
        raise Invalid("required", "name cannot be cleared", "name")
    email = changes.get("supportEmail")
    if email is not None and email_problem(email):
        raise Invalid("invalid_email", "supportEmail must be a valid email address", "supportEmail")
    if changes.get("brandColor") is not None:
        changes = changes | {"brandColor": brand.parse_color(changes["brandColor"])}
    async with pool.acquire() as conn, conn.transaction():
        await db.update_company(conn, company_id, changes)
        return _settings_wire(await db.company_settings(conn, company_id))


async def get_webhook_url(pool: asyncpg.Pool, company_id: uuid.UUID) -> dict[str, Any]:
    return {"webHookUrl": (await db.company_settings(pool, company_id))["webhook_url"]}


async def set_webhook_url(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, url: str | None
) -> dict[str, Any]:
    """Set (after checking it resolves only to public addresses) or clear (None) the webhook URL."""
    if url is not None:
        await check_webhook_url(url, allow_private=settings.webhook_allow_private)
    await db.update_company(pool, company_id, {"webHookUrl": url})
    return {"webHookUrl": url}


def _limits_wire(limits: dict[str, tuple[Decimal, Decimal]]) -> dict[str, Any]:
    zero = (Decimal(0), Decimal(0))
    return {
        "assets": {
            a: {"static": fmt(limits.get(a, zero)[0]), "percentage": fmt(limits.get(a, zero)[1])}
            for a in COMPANY_ASSETS
        }
    }


async def get_underpayment_limits(pool: asyncpg.Pool, company_id: uuid.UUID) -> dict[str, Any]:
    return _limits_wire(await db.underpayment_limits(pool, company_id))


def static_decimals(asset: str) -> int:
    """Decimal places a static limit of ``asset`` may have: the finest of the networks carrying it."""
    return max((p.decimals for p in payment_assets_of(asset)), default=MAX_STATIC_DECIMALS)


def _check_limit(asset: str, static: Decimal | None, percent: Decimal | None) -> None:
    field = f"assets.{asset}"
    if static is not None:
        places = static_decimals(asset)
        if static.normalize().as_tuple().exponent < -places:  # type: ignore[operator]
            raise Invalid("too_precise", f"static for {asset} has more than {places} decimal places", field + ".static")
    if percent is not None and percent > 100:
        raise Invalid("out_of_range", "percentage must be between 0 and 100", field + ".percentage")


async def set_underpayment_limits(
    pool: asyncpg.Pool, company_id: uuid.UUID, changes: dict[str, tuple[Decimal | None, Decimal | None]]
) -> dict[str, Any]:
    """Set static (in the asset) and percentage limits per asset; either may be left out."""
    for asset, (static, percent) in changes.items():
        if asset not in COMPANY_ASSETS:
            raise Invalid("unknown_asset", f"unknown asset {asset!r}", f"assets.{asset}")
        _check_limit(asset, static, percent)
    async with pool.acquire() as conn, conn.transaction():
        for asset, (static, percent) in changes.items():
            await db.set_underpayment_limit(conn, company_id, asset, static, percent)
        return _limits_wire(await db.underpayment_limits(conn, company_id))


async def rotate_secret_key(
    pool: asyncpg.Pool, settings: Settings, company_id: uuid.UUID, grace: timedelta | None = None
) -> dict[str, Any]:
    """Issue a new secret key (returned only now); older keys keep signing for ``grace`` (default 24 h)."""
    grace = DEFAULT_GRACE if grace is None else grace
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise Invalid("out_of_range", "gracePeriodSeconds must be between 0 and 30 days", "gracePeriodSeconds")
    salt = new_key_salt()
    secret = secret_key_from_salt(settings.master_key, salt)
    old_until = datetime.now(UTC) + grace
    async with pool.acquire() as conn, conn.transaction():
        await db.rotate_secret(conn, company_id, token_hash(secret), salt, old_until)
        keys = await db.active_secret_keys(conn, company_id)
    return {
        "secretKey": secret,
        "previousKeysValidUntil": wire_time(old_until) if len(keys) > 1 else None,
        "activeKeys": len(keys),
    }


TEST_EVENT = "webhook.test"


async def send_test_event(pool: asyncpg.Pool, company_id: uuid.UUID) -> dict[str, Any]:
    """Write a ``webhook.test`` event (no invoice): it is delivered, signed and retried like any other."""
    settings_row = await db.company_settings(pool, company_id)
    if settings_row["webhook_url"] is None:
        raise Invalid("webhook_url_required", "set a webhook URL before sending a test event", "webHookUrl")
    event_id = uuid.uuid4()
    now = datetime.now(UTC)
    payload = {
        "eventId": str(event_id),
        "type": TEST_EVENT,
        "eventType": solidgate_type(TEST_EVENT),
        "invoiceId": None,
        "message": "A test event sent from the dashboard",
        "createdAt": wire_time(now),
    }
    async with pool.acquire() as conn:
        await record(conn, event_id, company_id, None, TEST_EVENT, None, payload, now)
    return {"eventId": str(event_id)}
