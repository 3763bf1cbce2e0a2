"""Rate providers by name: each speaks one service's documented public API over aiohttp."""

from __future__ import annotations

import logging

from coinvoice.config import RATE_CURRENCIES, Settings
from coinvoice.rates.base import RateProvider
from coinvoice.rates.providers.binance import Binance
from coinvoice.rates.providers.coinbase import Coinbase
from coinvoice.rates.providers.coingecko import CoinGecko
from coinvoice.rates.providers.kraken import Kraken

log = logging.getLogger(__name__)
#: Providers whose public endpoint takes no API key: a configured one is not sent anywhere.
KEYLESS = ("kraken", "coinbase")


def network_providers(settings: Settings) -> list[RateProvider]:
    """The configured providers that are fetched over the network, in the configured order."""
    providers: list[RateProvider] = []
    for name in settings.network_rate_providers:
        url, timeout, key = settings.rates_urls[name], settings.rates_timeout_seconds, settings.rates_api_keys.get(name)
        if key and name in KEYLESS:
            log.warning(
                "COINVOICE_RATES_%s_API_KEY is set, but %s's public API takes no key: not sent", name.upper(), name
            )
        if name == "kraken":
            providers.append(Kraken(url, timeout))
        elif name == "binance":
            providers.append(Binance(url, timeout, key))
        elif name == "coinbase":
            providers.append(Coinbase(url, timeout, RATE_CURRENCIES))
        elif name == "coingecko":
            providers.append(CoinGecko(url, timeout, key))
        else:  # load_settings accepts only known names
            raise ValueError(f"unknown rate provider {name!r}")
    return providers
