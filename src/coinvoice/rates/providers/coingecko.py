"""CoinGecko's simple price (GET /api/v3/simple/price?ids=...&vs_currencies=usd,eur), with its update times."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from coinvoice.domain.rates import Observation
from coinvoice.rates.base import decimal_or_nan, get_json, shape_error

PATH = "/api/v3/simple/price"
#: CoinGecko coin id -> our currency code.
COIN_IDS = {
    "bitcoin": "btc",
    "ethereum": "eth",
    "litecoin": "ltc",
    "bitcoin-cash": "bch",
    "binancecoin": "bnb",
    "tron": "trx",
    "solana": "sol",
    "the-open-network": "ton",
    "tether": "usdt",
    "usd-coin": "usdc",
}
VS_CURRENCIES = ("usd", "eur")


class CoinGecko:
    name = "coingecko"

    def __init__(self, base_url: str, timeout: float, api_key: str | None = None) -> None:
        self._url = base_url + PATH
        self._timeout = timeout
        # paid plans live on their own host (pro-api) and take a different header than the demo key
        header = "x-cg-pro-api-key" if "pro-api" in base_url else "x-cg-demo-api-key"
        self._headers = {header: api_key} if api_key else {}

    async def fetch(self, http: aiohttp.ClientSession) -> list[Observation]:
        params = {
            "ids": ",".join(COIN_IDS),
            "vs_currencies": ",".join(VS_CURRENCIES),
            "include_last_updated_at": "true",
            "precision": "full",
        }
        body = await get_json(http, self._url, params=params, headers=self._headers, time_limit=self._timeout)
        now = datetime.now(UTC)
        if not isinstance(body, dict):
            raise shape_error("coingecko", "the answer is not an object of coins")
        observations = []
        for coin_id, code in COIN_IDS.items():
            prices = body.get(coin_id)
            if not isinstance(prices, dict):
                continue
            observed_at = _updated_at(prices.get("last_updated_at"), now)
            for vs in VS_CURRENCIES:
                if vs in prices and vs != code:
                    observations.append(Observation(code, vs, decimal_or_nan(prices[vs]), observed_at))
        return observations


def _updated_at(value: object, now: datetime) -> datetime:
    """When CoinGecko last updated the coin's price (never later than now); now when it does not say."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        try:
            return min(datetime.fromtimestamp(value, UTC), now)
        except (OverflowError, OSError, ValueError):
            return now
    return now
