"""RateService: quotes from this process's copy of the rate cache; it never asks a provider.

The refresh job (rates/refresh.py, one leader per deployment) writes what the providers said to
PostgreSQL; every process keeps a copy, reloaded at most every few seconds *before* a request's
transaction (``ready``). ``rate`` and ``pricing`` are synchronous: inside a transaction nothing can wait
on the network. Staleness is judged when a rate is used, from each observation's own time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

import asyncpg

from coinvoice.config import Settings
from coinvoice.db import rates as db
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.chains import CHAINS
from coinvoice.domain.errors import Unavailable
from coinvoice.domain.money import _CTX
from coinvoice.domain.network_fees import NetworkFee, current_or_fallback
from coinvoice.domain.rates import (
    NoRate,
    Observation,
    Pair,
    RatePolicy,
    SourceRate,
    aggregate,
    peg_observations,
    source_rate,
    with_spread,
)
from coinvoice.rates.fixed import FixedRates

log = logging.getLogger(__name__)
#: Seconds a process uses its copy of the rate cache before reading PostgreSQL again.
RELOAD_SECONDS = 2.0
#: The native coin (asset) of each chain: what its network fees are paid in.
NATIVE_COIN = {c.name: PAYMENT_ASSETS[c.native].asset for c in CHAINS.values()}
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class QuotedRate:
    """The rate to quote (spread included), the sources it is the median of, and the spread applied."""

    value: Decimal
    sources: tuple[SourceRate, ...]
    spread_percent: Decimal = Decimal(0)

    @property
    def summary(self) -> str:
        """A short text for the quote's rate_source column: one name, or median:a,b,c."""
        names = [s.source for s in self.sources]
        return names[0] if len(names) == 1 else "median:" + ",".join(names)


@dataclass(frozen=True, slots=True)
class Pricing:
    """What a fill needs from the rate cache: the rate and the payer's network fee in the payment asset."""

    rate: QuotedRate
    network_fee: Decimal
    network_fee_source: str | None


class RateService:
    def __init__(self, settings: Settings, *, reload_seconds: float = RELOAD_SECONDS) -> None:
        self._settings = settings
        self._policy = RatePolicy(
            max_age=timedelta(seconds=settings.rates_max_age_seconds),
            min_sources=settings.rates_min_sources,
            max_deviation_percent=settings.rates_max_deviation_percent,
        )
        self._pegs = dict(settings.rates_pegs)
        self._providers = settings.network_rate_providers
        self._fixed = FixedRates(settings.fixed_rates) if "fixed" in settings.rates_providers else None
        self._fixed_table = peg_observations(self._fixed.observations(_NEVER), self._pegs) if self._fixed else {}
        # network providers fill the cache, and so do the nodes' fee estimates
        self._uses_cache = bool(self._providers) or any(c.rpc_url for c in settings.chains.values())
        self._reload_seconds = reload_seconds
        self._tables: dict[str, dict[Pair, Observation]] = {p: {} for p in self._providers}
        self._newest: dict[str, datetime] = {}
        self._fees: dict[str, NetworkFee] = {}
        self._memo: dict[Pair, tuple[SourceRate, ...]] = {}
        self._loaded_at: float | None = None
        self._loading = asyncio.Lock()
        self._unconvertible: set[str] = set()  # network-fee pairs without a rate (warned about once)

    @property
    def providers(self) -> tuple[str, ...]:
        """The network providers whose observations this service quotes from."""
        return self._providers

    # --- the process's copy of the cache --------------------------------------------------------------

    async def ready(self, pool: asyncpg.Pool | asyncpg.Connection) -> None:
        """Reload the copy of the cache from PostgreSQL when it is due (never a provider); call outside
        any transaction. Only the first load is waited for: later ones let others use the current copy."""
        if not self._uses_cache:
            return
        due = self._loaded_at is None or time.monotonic() - self._loaded_at >= self._reload_seconds
        if not due or (self._loading.locked() and self._loaded_at is not None):
            return
        async with self._loading:
            if self._loaded_at is not None and time.monotonic() - self._loaded_at < self._reload_seconds:
                return
            observations = await db.load_observations(pool, self._providers)
            fees = await db.load_fee_estimates(pool)
            self.install(observations, fees)

    def install(self, observations: Mapping[str, Sequence[Observation]], fees: Mapping[str, NetworkFee]) -> None:
        """Replace the copy of the cache (the refresh job calls this right after writing PostgreSQL)."""
        self._tables = {p: peg_observations(observations.get(p, ()), self._pegs) for p in self._providers}
        self._newest = {p: max(o.observed_at for o in obs) for p, obs in observations.items() if obs}
        self._fees = dict(fees)
        self._memo = {}
        self._loaded_at = time.monotonic()

    def age_seconds(self, provider: str, now: datetime | None = None) -> float:
        """Seconds since ``provider``'s newest cached observation (NaN when it has none)."""
        newest = self._newest.get(provider)
        if newest is None:
            return float("nan")
        return ((now or datetime.now(UTC)) - newest).total_seconds()

    # --- quotes -----------------------------------------------------------------------------------------

    def rate(
        self,
        base: str,
        quote: str,
        *,
        spread_percent: Decimal = Decimal(0),
        now: datetime | None = None,
        field: str | None = "paymentCurrency",
    ) -> QuotedRate:
        """Units of ``quote`` per ``base`` from the fresh, agreeing sources; Unavailable (503) otherwise."""
        now = now or datetime.now(UTC)
        if base == quote:
            return QuotedRate(Decimal(1), (SourceRate("identity", Decimal(1), now),))
        pegged_base, pegged_quote = self._pegs.get(base, base), self._pegs.get(quote, quote)
        if pegged_base == pegged_quote:
            return QuotedRate(Decimal(1), (SourceRate("peg", Decimal(1), now, via=pegged_base),))
        try:
            agreed = aggregate(self.sources(pegged_base, pegged_quote, now), now, self._policy, f"{base}/{quote}")
        except NoRate as exc:
            raise Unavailable("rate_unavailable", str(exc), field) from exc
        return QuotedRate(with_spread(agreed.value, spread_percent), agreed.sources, spread_percent)

    def sources(self, base: str, quote: str, now: datetime) -> list[SourceRate]:
        """Every configured source's rate for a (pegged) pair, fresh or not."""
        pair = (base, quote)
        cached = self._memo.get(pair)
        if cached is None:
            found = (source_rate(p, self._tables[p], base, quote) for p in self._providers)
            cached = self._memo[pair] = tuple(s for s in found if s is not None)
        sources = list(cached)
        if self._fixed is not None and (fixed := source_rate("fixed", self._fixed_table, base, quote)) is not None:
            sources.append(replace(fixed, observed_at=now))  # the merchant's own rates never go stale
        return sources

    def network_fee(self, payment_asset: str, now: datetime) -> NetworkFee:
        """The cached estimate for one payment of ``payment_asset`` while recent, else the fallback constant."""
        coin = NATIVE_COIN[PAYMENT_ASSETS[payment_asset].chain]
        fallback = self._settings.network_fee_fallback_for(payment_asset)
        return current_or_fallback(self._fees.get(payment_asset), payment_asset, coin, now, fallback)

    def pricing(self, invoice_currency: str, payment_asset: str, *, payer_pays_fee: bool) -> Pricing:
        """The rate for a fill and, when the payer pays the fee, their network cost in the payment asset."""
        now = datetime.now(UTC)
        asset = PAYMENT_ASSETS[payment_asset].asset
        rate = self.rate(invoice_currency, asset, spread_percent=self._settings.spread_for(payment_asset), now=now)
        if not payer_pays_fee or self._settings.network_fee_max_percent == 0:
            return Pricing(rate, Decimal(0), None)
        fee = self.network_fee(payment_asset, now)
        if fee.coin == asset:
            return Pricing(rate, fee.amount, fee.source)
        pair = f"{fee.coin}/{asset}"
        try:
            conversion = self.rate(fee.coin, asset, now=now)  # the network fee is paid in the chain's coin
        except Unavailable as exc:
            # the sale goes ahead without the surcharge rather than being refused for it; the quote says why
            if pair not in self._unconvertible:
                self._unconvertible.add(pair)
                log.warning("network fees of %s are not charged: %s", payment_asset, exc.message)
            return Pricing(rate, Decimal(0), f"not charged: {exc.message}")
        self._unconvertible.discard(pair)
        with localcontext(_CTX):
            return Pricing(rate, fee.amount * conversion.value, f"{fee.source} ({fee.amount} {fee.coin})")
