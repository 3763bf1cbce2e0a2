"""Wiring the webhook sender into a worker app: its LISTEN connection, its polling job, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
from aiohttp import web

from coinvoice.appkeys import JOBS, OUTAGE, POOL, SETTINGS, Job
from coinvoice.config import Settings
from coinvoice.db import webhooks as db
from coinvoice.net.urlcheck import PublicOnlyResolver
from coinvoice.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)


WEBHOOK_SENDER = web.AppKey("webhook_sender", WebhookSender)


async def _listen(app: web.Application, sender: WebhookSender) -> None:
    """Hold one connection that LISTENs for new deliveries; re-acquire it if it drops."""
    while True:
        lost = asyncio.Event()
        try:
            async with app[POOL].acquire() as conn:
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(db.CHANNEL, sender.wake)
                app[OUTAGE].succeeded()
                try:
                    sender.wake()  # anything that arrived while not listening
                    await lost.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await conn.remove_listener(db.CHANNEL, sender.wake)
        except (OSError, asyncpg.PostgresError) as exc:  # logged once per outage, with the jobs
            app[OUTAGE].failed("the webhook LISTEN connection", exc)
        await asyncio.sleep(app[SETTINGS].webhook_poll_seconds)


async def webhook_sender_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the sender and its LISTEN connection; the scheduler job polls as the safety net."""
    http = webhook_http_client(app[SETTINGS])
    sender = WebhookSender(app[POOL], http, app[SETTINGS])
    app[WEBHOOK_SENDER] = sender
    listener = asyncio.create_task(_listen(app, sender))
    yield
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    await sender.close()
    await http.close()


def webhook_http_client(settings: Settings) -> aiohttp.ClientSession:
    """The client for merchants' URLs: its own session, connecting only to public addresses (checked at
    connect time, so DNS rebinding after the URL check cannot reach an internal address)."""
    resolver = None if settings.webhook_allow_private else PublicOnlyResolver()
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver, limit=settings.webhook_concurrency))


def install_webhook_sender(app: web.Application) -> None:
    """Register the sender's resources and its polling job; call before the scheduler is installed."""
    app.cleanup_ctx.append(webhook_sender_ctx)

    async def poll() -> None:
        if WEBHOOK_SENDER in app:
            await app[WEBHOOK_SENDER].drain()

    app[JOBS].append(Job("webhook-sender", poll, app[SETTINGS].webhook_poll_seconds))
    if app[SETTINGS].webhook_retention_days > 0:

        async def retention() -> None:
            await delete_expired_deliveries(app[POOL], app[SETTINGS])

        app[JOBS].append(Job("webhook-retention", retention, RETENTION_JOB_SECONDS))


RETENTION_JOB_SECONDS = 3600.0


async def delete_expired_deliveries(pool: asyncpg.Pool, settings: Settings) -> int:
    """Delete deliveries delivered more than COINVOICE_WEBHOOK_RETENTION_DAYS ago, with their attempts, in
    batches (short transactions); how many were deleted."""
    before = datetime.now(UTC) - timedelta(days=settings.webhook_retention_days)
    deleted = 0
    while (n := await db.delete_delivered_before(pool, before)) > 0:
        deleted += n
    if deleted:
        log.info("deleted %d webhook deliveries delivered before %s", deleted, before.isoformat(timespec="seconds"))
    return deleted
