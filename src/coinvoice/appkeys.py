"""Typed application state keys: everything a handler or a job needs lives on the Application, not in globals.

Shared by web, workers and webhooks, which do not import each other; the scheduler's Job lives here with JOBS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import asyncpg
from aiohttp import web

from coinvoice.config import Settings
from coinvoice.db.company_cache import CompanyCache
from coinvoice.db.invoice_inserts import InvoiceInserts
from coinvoice.db.outage import OutageTracker
from coinvoice.rates.metrics import RateMetrics
from coinvoice.rates.service import RateService


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Callable[[], Awaitable[object]]
    seconds: float


SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
RATES = web.AppKey("rates", RateService)
RATE_METRICS = web.AppKey("rate_metrics", RateMetrics)
HTTP = web.AppKey("http", aiohttp.ClientSession)
COMPANIES = web.AppKey("companies", CompanyCache)
#: New invoices, group committed (db/invoice_inserts.py)
INVOICE_INSERTS = web.AppKey("invoice_inserts", InvoiceInserts)
JOBS = web.AppKey("jobs", list[Job])
#: The process's view of a database outage: one log line when it starts and one when it ends.
OUTAGE = web.AppKey("outage", OutageTracker)
