"""The email job: sends the outbox (invoices, receipts) when SMTP is configured."""

from __future__ import annotations

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS, Job
from coinvoice.mail.sender import BATCH, send_due_emails


def email_jobs(app: web.Application) -> list[Job]:
    smtp = app[SETTINGS].smtp
    if smtp is None:
        return []

    async def run() -> None:
        while await send_due_emails(app[POOL], smtp) >= BATCH:
            pass

    return [Job("send-emails", run, 2.0)]
