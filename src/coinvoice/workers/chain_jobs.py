"""Scheduled chain-watcher jobs: one UtxoWatcher per configured Bitcoin Core-family chain."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from coinvoice.chains.utxo.rpc import BitcoinRpc
from coinvoice.chains.utxo.watcher import UtxoWatcher
from coinvoice.domain.assets import CHAINS
from coinvoice.web.keys import HTTP, POOL, SETTINGS
from coinvoice.workers.scheduler import Job

UTXO_CHAINS = tuple(c.name for c in CHAINS.values() if c.family == "utxo")
WATCHERS = web.AppKey("chain_watchers", dict[str, UtxoWatcher])


def utxo_watcher_jobs(app: web.Application) -> list[Job]:
    """A polling job per UTXO chain with an RPC URL; each builds its watcher on first run (after start-up)."""
    app[WATCHERS] = {}
    settings = app[SETTINGS]
    jobs = []
    for chain in UTXO_CHAINS:
        chain_settings = settings.chain(chain)
        if chain_settings.rpc_url:
            jobs.append(
                Job(f"watch-{chain}", _poll_job(app, chain, chain_settings.rpc_url), chain_settings.poll_seconds)
            )
    return jobs


def _poll_job(app: web.Application, chain: str, rpc_url: str):
    async def run() -> None:
        watcher = app[WATCHERS].get(chain)
        if watcher is None:
            rpc = BitcoinRpc(rpc_url, app[HTTP])
            watcher = app[WATCHERS][chain] = UtxoWatcher(chain, app[SETTINGS], app[POOL], rpc)
        await watcher.poll()

    return run


async def watchers_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the pool, before the scheduler): give up chain leadership on shutdown."""
    yield
    for watcher in app[WATCHERS].values():
        await watcher.close()
