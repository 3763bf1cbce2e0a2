"""RateService: the rate from an invoice currency to a payment asset, from the configured providers."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from decimal import Decimal

from coinvoice.config import ConfigError, Settings
from coinvoice.domain.errors import Unavailable
from coinvoice.rates.base import Rate, RateProvider
from coinvoice.rates.fixed import FixedRates

log = logging.getLogger(__name__)


class RateService:
    """Asks every provider; the median of the answers is the rate. No answer is an error, never zero."""

    def __init__(self, providers: Sequence[RateProvider]):
        self._providers = list(providers)

    async def rate(self, base: str, quote: str) -> Rate:
        if base == quote:
            return Rate(Decimal(1), "identity")
        answers = []
        for provider in self._providers:
            try:
                value = await provider.rate(base, quote)
            except Exception:  # a failing provider must not take the others down
                log.exception("rate provider %s failed for %s/%s", provider.name, base, quote)
                continue
            if value is not None and value > 0:
                answers.append((value, provider.name))
        if not answers:
            raise Unavailable("rate_unavailable", f"no rate is available for {base}/{quote}", "paymentCurrency")
        if len(answers) == 1:
            return Rate(answers[0][0], answers[0][1])
        return Rate(statistics.median(v for v, _ in answers), "median:" + ",".join(n for _, n in answers))


def build_rate_service(settings: Settings) -> RateService:
    providers: list[RateProvider] = []
    for name in settings.rates_providers:
        if name == "fixed":
            providers.append(FixedRates(settings.fixed_rates))
        else:
            raise ConfigError(f"COINVOICE_RATES_PROVIDERS: unknown provider {name!r} (known: fixed)")
    return RateService(providers)
