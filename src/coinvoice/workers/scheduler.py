"""The APScheduler (3.x) set-up: one AsyncIOScheduler per worker process, jobs from the app's state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from coinvoice.appkeys import JOBS, POOL, SETTINGS, Job
from coinvoice.services.invoices import expire_due_invoices
from coinvoice.services.unlimited import close_ended_windows

log = logging.getLogger(__name__)


def expiry_job(app: web.Application) -> Job:
    async def run() -> None:
        # bounded batches until a short one: a backlog drains without one huge transaction
        while await expire_due_invoices(app[POOL], app[SETTINGS]) >= app[SETTINGS].expiry_batch:
            pass
        while await close_ended_windows(app[POOL], app[SETTINGS]) >= app[SETTINGS].expiry_batch:
            pass

    return Job("expire-invoices", run, 5.0)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start every registered job, stop them on shutdown."""
    scheduler = AsyncIOScheduler()
    for job in app[JOBS]:
        scheduler.add_job(
            job.run,
            "interval",
            seconds=job.seconds,
            id=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=None,
        )
    scheduler.start()
    for job in scheduler.get_jobs():
        job.modify(next_run_time=datetime.now(UTC))
    log.info("scheduler started with jobs: %s", ", ".join(j.name for j in app[JOBS]))
    yield
    scheduler.shutdown(wait=False)
