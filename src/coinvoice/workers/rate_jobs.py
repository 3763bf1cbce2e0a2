"""The scheduled rate refresh: fills the rate cache from the providers and the nodes' fee estimates."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from coinvoice.netfees.registry import estimated_chains, fee_estimators
from coinvoice.rates.providers import network_providers
from coinvoice.rates.refresh import RateRefresher
from coinvoice.web.keys import HTTP, POOL, RATES, SETTINGS
from coinvoice.web.metrics import METRICS
from coinvoice.workers.scheduler import JOBS, Job

REFRESHER = web.AppKey("rate_refresher", RateRefresher)


def install_rate_refresh(app: web.Application) -> None:
    """Register the refresher and its job when there is anything to fetch; call before the scheduler."""
    settings = app[SETTINGS]
    if not settings.network_rate_providers and not estimated_chains(settings):
        return  # fixed rates only and no node: nothing to cache
    app.cleanup_ctx.append(_refresher_ctx)

    async def run() -> None:
        if REFRESHER in app:
            await app[REFRESHER].run()

    app[JOBS].append(Job("refresh-rates", run, settings.rates_refresh_seconds))


async def _refresher_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the pool and the HTTP session): the refresher; gives up leadership on shutdown."""
    settings = app[SETTINGS]
    refresher = RateRefresher(
        settings,
        app[POOL],
        app[HTTP],
        app[RATES],
        network_providers(settings),
        fee_estimators(settings, app[HTTP]),
        app[METRICS].rates,
    )
    app[REFRESHER] = refresher
    yield
    await refresher.close()
