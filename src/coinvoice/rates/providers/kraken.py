"""Kraken's public Ticker endpoint (GET /0/public/Ticker?pair=...): the mid of the best bid and ask."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, localcontext

import aiohttp

from coinvoice.domain.money import _CTX
from coinvoice.domain.rates import Observation
from coinvoice.rates.base import ProviderError, decimal_or_nan, get_json, shape_error

PATH = "/0/public/Ticker"
#: (base, quote) -> (the pair name we ask for, the key Kraken answers with: legacy X/Z names for old assets).
#: Only pairs Kraken lists: one unknown pair fails the whole request. Kraken has no BNB market.
PAIRS: dict[tuple[str, str], tuple[str, str]] = {
    ("btc", "usd"): ("XBTUSD", "XXBTZUSD"),
    ("btc", "eur"): ("XBTEUR", "XXBTZEUR"),
    ("eth", "usd"): ("ETHUSD", "XETHZUSD"),
    ("eth", "eur"): ("ETHEUR", "XETHZEUR"),
    ("ltc", "usd"): ("LTCUSD", "XLTCZUSD"),
    ("ltc", "eur"): ("LTCEUR", "XLTCZEUR"),
    ("bch", "usd"): ("BCHUSD", "BCHUSD"),
    ("sol", "usd"): ("SOLUSD", "SOLUSD"),
    ("trx", "usd"): ("TRXUSD", "TRXUSD"),
    ("ton", "usd"): ("TONUSD", "TONUSD"),
    ("usdt", "usd"): ("USDTUSD", "USDTZUSD"),
    ("usdc", "usd"): ("USDCUSD", "USDCUSD"),
    ("eur", "usd"): ("EURUSD", "ZEURZUSD"),
}


class Kraken:
    name = "kraken"

    def __init__(self, base_url: str, timeout: float) -> None:
        self._url = base_url + PATH
        self._timeout = timeout

    async def fetch(self, http: aiohttp.ClientSession) -> list[Observation]:
        params = {"pair": ",".join(name for name, _ in PAIRS.values())}
        body = await get_json(http, self._url, params=params, time_limit=self._timeout)
        now = datetime.now(UTC)
        if not isinstance(body, dict):
            raise shape_error("kraken", "the answer is not an object")
        if body.get("error"):  # e.g. ["EQuery:Unknown asset pair"] or ["EGeneral:Too many requests"]
            raise ProviderError("api_error", f"kraken: {'; '.join(map(str, body['error']))[:200]}")
        result = body.get("result")
        if not isinstance(result, dict):
            raise shape_error("kraken", "no result object")
        observations = []
        for (base, quote), (name, key) in PAIRS.items():
            ticker = result.get(key, result.get(name))
            if isinstance(ticker, dict):
                observations.append(Observation(base, quote, _price(ticker), now))
        return observations


def _price(ticker: dict) -> Decimal:
    """The mid of the best ask ``a`` and bid ``b``; the last trade ``c`` when the book is missing."""
    try:
        ask, bid = decimal_or_nan(ticker["a"][0]), decimal_or_nan(ticker["b"][0])
    except (KeyError, IndexError, TypeError):
        ask = bid = Decimal("NaN")
    if ask.is_finite() and bid.is_finite() and ask > 0 and bid > 0:
        with localcontext(_CTX):
            return (ask + bid) / 2
    try:
        return decimal_or_nan(ticker["c"][0])
    except (KeyError, IndexError, TypeError):
        return Decimal("NaN")
