"""The APScheduler (3.x) set-up: one AsyncIOScheduler per worker process, jobs from the app's state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from coinvoice.appkeys import JOBS, OUTAGE, POOL, SETTINGS, Job
from coinvoice.db.outage import OutageTracker, is_outage
from coinvoice.services.invoices import expire_due_invoices
from coinvoice.services.unlimited import close_ended_windows

log = logging.getLogger(__name__)
#: How long shutdown waits for running jobs to finish their round (each round commits in its own transactions).
STOP_WAIT_SECONDS = 20.0


def expiry_job(app: web.Application) -> Job:
    async def run() -> None:
        # bounded batches until a short one: a backlog drains without one huge transaction
        while await expire_due_invoices(app[POOL], app[SETTINGS]) >= app[SETTINGS].expiry_batch:
            pass
        while await close_ended_windows(app[POOL], app[SETTINGS]) >= app[SETTINGS].expiry_batch:
            pass

    return Job("expire-invoices", run, 5.0)


def _guarded(
    name: str, run: Callable[[], Awaitable[object]], outage: OutageTracker, running: set[asyncio.Task[None]]
) -> Callable[[], Awaitable[None]]:
    """A job run that waits out a database outage (one log line per outage, shared by every job of the process)
    and that shutdown can wait for."""

    async def guarded() -> None:
        if not outage.should_try():
            return
        task = asyncio.current_task()
        assert task is not None
        running.add(task)  # type: ignore[arg-type]
        try:
            await run()
        except Exception as exc:
            if not is_outage(exc):
                raise
            outage.failed(name, exc)
            return
        finally:
            running.discard(task)  # type: ignore[arg-type]
        outage.succeeded()

    return guarded


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start every registered job; on shutdown stop scheduling and let running rounds finish."""
    scheduler = AsyncIOScheduler()
    outage = app[OUTAGE]
    running: set[asyncio.Task[None]] = set()
    for job in app[JOBS]:
        scheduler.add_job(
            _guarded(job.name, job.run, outage, running),
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
    if running:  # a safe point: the end of the current round, whose writes are each one transaction
        log.info("waiting for %d running job(s) to finish their round", len(running))
        _done, pending = await asyncio.wait(set(running), timeout=STOP_WAIT_SECONDS)
        for task in pending:
            task.cancel()  # a transaction cancelled mid-way rolls back; the next process redoes the round
