"""The billing job: reopen billing invoices whose quote lapsed before the due date, expire overdue ones."""

from __future__ import annotations

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS, Job
from coinvoice.services.billing_payment import run_billing_due


def billing_due_job(app: web.Application) -> Job:
    async def run() -> None:
        while await run_billing_due(app[POOL], app[SETTINGS]) >= app[SETTINGS].expiry_batch:
            pass

    return Job("billing-due", run, 5.0)
