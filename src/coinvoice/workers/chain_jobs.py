"""Scheduled chain-watcher jobs: one watcher (block follower or account scanner) per chain with a node configured."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from coinvoice.appkeys import HTTP, POOL, SETTINGS, Job
from coinvoice.chains.leadership import ChainWatcher
from coinvoice.chains.registry import build_watcher, watched_chains
from coinvoice.domain.chains import Chain

WATCHERS = web.AppKey("chain_watchers", dict[str, ChainWatcher])


def chain_watcher_jobs(app: web.Application) -> list[Job]:
    """A polling job per watched chain; each builds its follower on first run (after start-up)."""
    app[WATCHERS] = {}
    settings = app[SETTINGS]
    return [
        Job(f"watch-{chain.name}", _poll_job(app, chain), settings.chain(chain.name).poll_seconds)
        for chain in watched_chains(settings)
    ]


#: The name the UTXO-only version had; every family is scheduled the same way now.
utxo_watcher_jobs = chain_watcher_jobs


def _poll_job(app: web.Application, chain: Chain):
    async def run() -> None:
        watcher = app[WATCHERS].get(chain.name)
        if watcher is None:
            watcher = build_watcher(chain, app[SETTINGS], app[HTTP], app[POOL])
            app[WATCHERS][chain.name] = watcher
        await watcher.poll()

    return run


async def watchers_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the pool, before the scheduler): give up chain leadership on shutdown."""
    yield
    for watcher in app[WATCHERS].values():
        await watcher.close()
