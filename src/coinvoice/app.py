"""create_app(settings): the aiohttp application with its resources in cleanup_ctx; no module singletons."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from coinvoice.appkeys import COMPANIES, HTTP, INVOICE_INSERTS, JOBS, OUTAGE, POOL, RATE_METRICS, RATES, SETTINGS
from coinvoice.config import Settings
from coinvoice.db.company_cache import CompanyCache
from coinvoice.db.invoice_inserts import InvoiceInserts
from coinvoice.db.migrate import migrate
from coinvoice.db.outage import OutageTracker
from coinvoice.db.pool import create_pool, database_url
from coinvoice.rates.service import RateService
from coinvoice.web.api import account as account_api
from coinvoice.web.api import billing_catalog as billing_catalog_api
from coinvoice.web.api import billing_invoices as billing_invoices_api
from coinvoice.web.api import company as company_api
from coinvoice.web.api import export as export_api
from coinvoice.web.api import invoices as invoices_api
from coinvoice.web.api import merchant_invoices as merchant_invoices_api
from coinvoice.web.api import openapi as openapi_api
from coinvoice.web.api import rates as rates_api
from coinvoice.web.api import unlimited as unlimited_api
from coinvoice.web.api.auth import company_writes_middleware
from coinvoice.web.api.errors import error_middleware
from coinvoice.web.dashboard.setup import setup_dashboard
from coinvoice.web.metrics import METRICS, Metrics, metrics_handler, metrics_middleware
from coinvoice.web.ops import healthz, readyz, request_id_middleware
from coinvoice.web.pay.handlers import setup_pay
from coinvoice.webhooks.worker import install_webhook_sender
from coinvoice.workers.billing_jobs import billing_due_job
from coinvoice.workers.chain_jobs import chain_watcher_jobs, watchers_ctx
from coinvoice.workers.mail_jobs import email_jobs
from coinvoice.workers.rate_jobs import install_rate_refresh
from coinvoice.workers.scheduler import expiry_job, scheduler_ctx

log = logging.getLogger(__name__)
ROLES = ("all", "api", "worker")
DSN = web.AppKey("dsn", str)
RUN_MIGRATIONS = web.AppKey("run_migrations", bool)


async def _database(app: web.Application) -> AsyncIterator[None]:
    dsn = app.get(DSN) or database_url(app[SETTINGS])
    pool = await create_pool(dsn)
    app[POOL] = pool
    if app.get(RUN_MIGRATIONS):  # before any job, cache or watcher reads a table (they start after this)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
    app[COMPANIES] = CompanyCache(pool, dsn)
    await app[COMPANIES].start()
    app[INVOICE_INSERTS] = InvoiceInserts(pool, on_batch=app[METRICS].invoice_batches.observe)
    yield
    await app[INVOICE_INSERTS].close()
    await app[COMPANIES].stop()
    await pool.close()


async def _http(app: web.Application) -> AsyncIterator[None]:
    app[HTTP] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    yield
    await app[HTTP].close()


def create_app(
    settings: Settings, *, role: str = "all", dsn: str | None = None, run_migrations: bool = False
) -> web.Application:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    app = web.Application(
        middlewares=[request_id_middleware, metrics_middleware, error_middleware, company_writes_middleware]
    )
    app[METRICS] = Metrics()
    app[SETTINGS] = settings
    app[RATES] = RateService(settings)
    app[RATE_METRICS] = app[METRICS].rates
    app[RATE_METRICS].watch_ages(app[RATES].providers, app[RATES].age_seconds)
    app[JOBS] = []
    meanwhile = (
        "requests answer 503 and background jobs back off"
        if role == "all"
        else ("requests answer 503" if role == "api" else "background jobs back off")
    )
    app[OUTAGE] = OutageTracker(logging.getLogger("coinvoice.outage"), meanwhile)
    if dsn:
        app[DSN] = dsn
    app[RUN_MIGRATIONS] = run_migrations
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_http)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    if role in ("all", "api"):
        app.add_routes(invoices_api.routes)
        app.add_routes(company_api.routes)
        app.add_routes(account_api.routes)
        app.add_routes(merchant_invoices_api.routes)
        app.add_routes(rates_api.routes)
        app.add_routes(billing_catalog_api.routes)
        app.add_routes(billing_invoices_api.routes)
        app.add_routes(unlimited_api.routes)
        app.add_routes(export_api.routes)
        app.add_routes(openapi_api.routes)
        setup_dashboard(app)
        setup_pay(app)  # last: its /{invoice_id} is constrained to a UUID
    if role in ("all", "worker"):
        app[JOBS].append(expiry_job(app))
        app[JOBS].append(billing_due_job(app))
        app[JOBS].extend(email_jobs(app))
        app[JOBS].extend(chain_watcher_jobs(app))
        app.cleanup_ctx.append(watchers_ctx)  # before the scheduler: cleaned up after it stops
        install_webhook_sender(app)
        install_rate_refresh(app)
        app.cleanup_ctx.append(scheduler_ctx)
    return app
