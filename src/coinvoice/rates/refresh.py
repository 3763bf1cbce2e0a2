"""The rate refresh job: one leader per deployment asks every provider and node, judges, writes the cache.

Providers are asked concurrently, each with its own timeout; one that fails leaves its older rows to age
out while the others carry on. Every price is screened (positive, finite, no absurd jump) before it is
stored. Outages and recoveries are logged once each, not once per refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from coinvoice.chains.utxo.rpc import NodeUnavailable, RpcError
from coinvoice.config import Settings
from coinvoice.db import rates as db
from coinvoice.domain.network_fees import NetworkFee
from coinvoice.domain.rates import Observation, screen
from coinvoice.netfees.base import NetworkFeeEstimator, NoEstimate
from coinvoice.rates.base import ProviderError, RateProvider
from coinvoice.rates.metrics import RateMetrics
from coinvoice.rates.service import NATIVE_COIN, RateService

log = logging.getLogger(__name__)


class RateRefresher:
    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        http: aiohttp.ClientSession,
        service: RateService,
        providers: Sequence[RateProvider],
        estimators: Sequence[NetworkFeeEstimator],
        metrics: RateMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._http = http
        self._service = service
        self._providers = list(providers)
        self._estimators = list(estimators)
        self._metrics = metrics
        self._leader: asyncpg.Connection | None = None
        self._busy = asyncio.Lock()
        self._failing: dict[str, int] = {}  # source -> consecutive failed refreshes (logged when it starts)
        self._rejected: dict[str, set[str]] = {}  # provider -> pairs whose price is being rejected

    @property
    def is_leader(self) -> bool:
        return self._leader is not None and not self._leader.is_closed()

    async def run(self) -> None:
        """One refresh, if this process leads the deployment's refresh; a no-op otherwise."""
        async with self._busy:
            conn = await self._lead()
            if conn is None:
                return
            try:
                await self._refresh(conn)
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                await self._drop_leadership()
                raise

    async def close(self) -> None:
        """Give up leadership after the current refresh (another process takes over at its next run)."""
        async with self._busy:
            conn, self._leader = self._leader, None
            if conn is not None:
                try:
                    if not conn.is_closed():
                        await db.unlock_refresh(conn)
                finally:
                    await self._pool.release(conn)

    # --- one refresh ------------------------------------------------------------------------------------

    async def _refresh(self, conn: asyncpg.Connection) -> None:
        fetched = await asyncio.gather(*(self._fetch(p) for p in self._providers))
        estimated = await asyncio.gather(*(self._estimate(e) for e in self._estimators))
        now = datetime.now(UTC)
        since = now - timedelta(seconds=self._settings.rates_max_age_seconds)
        async with conn.transaction():
            for provider, observations in zip(self._providers, fetched, strict=True):
                if observations is not None:
                    previous = await db.previous_rates(conn, provider.name, since)
                    good = self._judge(provider.name, observations, previous)
                    await db.store_observations(conn, provider.name, good)
            await db.store_fee_estimates(conn, [e for batch in estimated for e in batch])
        names = [p.name for p in self._providers]
        self._service.install(await db.load_observations(conn, names), await db.load_fee_estimates(conn))

    async def _fetch(self, provider: RateProvider) -> list[Observation] | None:
        started = time.perf_counter()
        try:
            observations = await provider.fetch(self._http)
        except ProviderError as exc:
            self._failed(provider.name, exc.reason, str(exc))
            return None
        except Exception as exc:  # a provider's bug must not stop the others
            log.exception("rate provider %s raised an unexpected error", provider.name)
            self._failed(provider.name, "error", f"{type(exc).__name__}: {exc}")
            return None
        finally:
            if self._metrics:
                self._metrics.latency.labels(provider.name).observe(time.perf_counter() - started)
        return observations

    def _judge(self, provider: str, observations: list[Observation], previous: dict) -> list[Observation]:
        good, rejected = screen(observations, previous, self._settings.rates_max_change_factor)
        now_rejected = {f"{o.base}/{o.quote}" for o, _ in rejected}
        before = self._rejected.get(provider, set())
        for o, reason in rejected:
            pair = f"{o.base}/{o.quote}"
            if self._metrics:
                self._metrics.rejected.labels(provider, "absurd" if "away" in reason else "invalid").inc()
            if pair not in before:
                log.warning("rate provider %s: %s price %s ignored (%s)", provider, pair, o.rate, reason)
        for pair in sorted(before - now_rejected):
            log.info("rate provider %s: %s price usable again", provider, pair)
        self._rejected[provider] = now_rejected
        if good:
            self._succeeded(provider)
        else:
            self._failed(provider, "no_usable_price", "no price in the answer could be used")
        return good

    async def _estimate(self, estimator: NetworkFeeEstimator) -> list[NetworkFee]:
        source = f"{estimator.chain} fee estimate"
        try:
            fees = await estimator.estimate()
        except NoEstimate as exc:
            self._count_estimate(estimator.chain, "none")
            self._failed(source, None, f"{exc}; quotes use the fallback constant")
            return []
        except (NodeUnavailable, RpcError) as exc:
            self._count_estimate(estimator.chain, "failure")
            self._failed(source, None, f"{exc}; quotes use the last estimate for an hour, then the fallback")
            return []
        self._count_estimate(estimator.chain, "success")
        self._succeeded(source)
        observed_at = datetime.now(UTC)
        coin = NATIVE_COIN[estimator.chain]
        return [NetworkFee(code, coin, fee, estimator.source, observed_at) for code, fee in fees.items()]

    # --- outage bookkeeping: one line when it starts, one when it ends ------------------------------------

    def _failed(self, source: str, reason: str | None, detail: str) -> None:
        if reason is not None and self._metrics:
            self._metrics.failures.labels(source, reason).inc()
        count = self._failing.get(source, 0)
        if count == 0:
            log.warning("%s unavailable: %s", _label(source), detail)
        self._failing[source] = count + 1

    def _succeeded(self, source: str) -> None:
        if source in self._providers_names() and self._metrics:
            self._metrics.successes.labels(source).inc()
        if count := self._failing.pop(source, 0):
            log.info("%s available again after %d failed refresh(es)", _label(source), count)

    def _providers_names(self) -> set[str]:
        return {p.name for p in self._providers}

    def _count_estimate(self, chain: str, outcome: str) -> None:
        if self._metrics:
            self._metrics.fee_estimates.labels(chain, outcome).inc()

    # --- leadership -------------------------------------------------------------------------------------

    async def _lead(self) -> asyncpg.Connection | None:
        if self._leader is not None:
            if not self._leader.is_closed():
                return self._leader
            await self._drop_leadership()
        conn = await self._pool.acquire()
        try:
            if await db.try_lock_refresh(conn):
                self._leader = conn
                log.info("leading the rate refresh")
                return conn
        except BaseException:
            await self._pool.release(conn)
            raise
        await self._pool.release(conn)
        return None

    async def _drop_leadership(self) -> None:
        conn, self._leader = self._leader, None
        if conn is not None:
            log.warning("lost the database connection of the rate refresh; will retry leadership")
            conn.terminate()
            await self._pool.release(conn)


def _label(source: str) -> str:
    return source if source.endswith("fee estimate") else f"rate provider {source}"
