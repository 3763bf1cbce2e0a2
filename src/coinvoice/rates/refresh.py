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
from decimal import Decimal

import aiohttp
import asyncpg

from coinvoice.config import Settings
from coinvoice.db import rates as db
from coinvoice.db.connection import Conn
from coinvoice.db.leader import LeaderLock
from coinvoice.domain.network_fees import NetworkFee
from coinvoice.domain.rates import Observation, Pair, screen
from coinvoice.rates.base import ProviderError, RateProvider
from coinvoice.rates.estimators import EstimateFailed, NetworkFeeEstimator, NoEstimate
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
        self._lock = LeaderLock(pool, db.REFRESH_LOCK_KEY, "the rate refresh", log)
        self._busy = asyncio.Lock()
        self._outages = Outages()
        self._rejected: dict[str, set[str]] = {}  # provider -> pairs whose price is being rejected

    @property
    def is_leader(self) -> bool:
        return self._lock.held

    async def run(self) -> None:
        """One refresh, if this process leads the deployment's refresh; a no-op otherwise."""
        async with self._busy:
            conn = await self._lock.acquire()
            if conn is None:
                return
            try:
                await self._refresh(conn)
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                await self._lock.drop()
                raise

    async def close(self) -> None:
        """Give up leadership after the current refresh (another process takes over at its next run)."""
        async with self._busy:
            await self._lock.release()

    # --- one refresh ------------------------------------------------------------------------------------

    async def _refresh(self, conn: Conn) -> None:
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
            self._provider_failed(provider.name, exc.reason, str(exc))
            return None
        except Exception as exc:  # a provider's bug must not stop the others
            log.exception("rate provider %s raised an unexpected error", provider.name)
            self._provider_failed(provider.name, "error", f"{type(exc).__name__}: {exc}")
            return None
        finally:
            if self._metrics:
                self._metrics.latency.labels(provider.name).observe(time.perf_counter() - started)
        return observations

    def _judge(
        self, provider: str, observations: list[Observation], previous: dict[Pair, Decimal]
    ) -> list[Observation]:
        """The observations worth storing; a rejected price is logged when it starts and when it stops."""
        factor = self._settings.rates_max_change_factor
        good, rejected = screen(observations, previous, factor)
        before, now_rejected = self._rejected.get(provider, set()), set()
        for o, reason in rejected:
            pair = f"{o.base}/{o.quote}"
            now_rejected.add(pair)
            if self._metrics:
                self._metrics.rejected.labels(provider, reason).inc()
            if pair not in before:
                why = (
                    "not a positive finite number"
                    if reason == "invalid"
                    else f"more than {factor}x away from the last good {previous[(o.base, o.quote)]}"
                )
                log.warning("rate provider %s: %s price %s ignored (%s)", provider, pair, o.rate, why)
        for pair in sorted(before - now_rejected):
            log.info("rate provider %s: %s price usable again", provider, pair)
        self._rejected[provider] = now_rejected
        if not good:
            self._provider_failed(provider, "no_usable_price", "no price in its answer could be used")
        else:
            if self._metrics:
                self._metrics.successes.labels(provider).inc()
            self._outages.ended(f"rate provider {provider}")
        return good

    def _provider_failed(self, provider: str, reason: str, detail: str) -> None:
        if self._metrics:
            self._metrics.failures.labels(provider, reason).inc()
        self._outages.started(f"rate provider {provider}", detail)

    async def _estimate(self, estimator: NetworkFeeEstimator) -> list[NetworkFee]:
        label = f"{estimator.chain} fee estimate"
        try:
            fees = await estimator.estimate()
        except NoEstimate as exc:
            self._count_estimate(estimator.chain, "none")
            self._outages.started(label, f"{exc}; quotes use the fallback constant")
            return []
        except Exception as exc:  # the node cannot answer, or an estimator's bug: the rates go on
            self._count_estimate(estimator.chain, "failure")
            if not isinstance(exc, EstimateFailed):
                log.exception("%s raised an unexpected error", label)
            self._outages.started(label, f"{exc}; quotes use the last estimate for an hour, then the fallback")
            return []
        self._count_estimate(estimator.chain, "success")
        self._outages.ended(label)
        observed_at = datetime.now(UTC)
        coin = NATIVE_COIN[estimator.chain]
        return [NetworkFee(code, coin, fee, estimator.source, observed_at) for code, fee in fees.items()]

    def _count_estimate(self, chain: str, outcome: str) -> None:
        if self._metrics:
            self._metrics.fee_estimates.labels(chain, outcome).inc()

    # --- leadership -------------------------------------------------------------------------------------


class Outages:
    """One log line when a source becomes unavailable and one when it is back, not one per refresh."""

    def __init__(self) -> None:
        self._failing: dict[str, int] = {}  # label -> consecutive failed refreshes

    def started(self, label: str, detail: str) -> None:
        count = self._failing.get(label, 0)
        if count == 0:
            log.warning("%s unavailable: %s", label, detail)
        self._failing[label] = count + 1

    def ended(self, label: str) -> None:
        if count := self._failing.pop(label, 0):
            log.info("%s available again after %d failed refresh(es)", label, count)
