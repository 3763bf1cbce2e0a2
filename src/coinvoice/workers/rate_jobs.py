"""The scheduled rate refresh: fills the rate cache from the providers and the nodes' fee estimates."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from coinvoice.appkeys import HTTP, JOBS, POOL, RATE_METRICS, RATES, SETTINGS, Job
from coinvoice.domain.chains import CHAINS
from coinvoice.netfees.registry import ESTIMATORS, fee_estimators
from coinvoice.rates.providers import network_providers
from coinvoice.rates.refresh import RateRefresher

REFRESHER = web.AppKey("rate_refresher", RateRefresher)


def install_rate_refresh(app: web.Application) -> None:
    """Register the refresher and its job when there is anything to fetch; call before the scheduler."""
    settings = app[SETTINGS]
    estimated = [c for c in CHAINS.values() if settings.chain(c.name).rpc_url and c.family in ESTIMATORS]
    if not settings.network_rate_providers and not estimated:
        return  # fixed rates only and no node to estimate fees: nothing to cache
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
        app[RATE_METRICS],
    )
    app[REFRESHER] = refresher
    yield
    await refresher.close()
