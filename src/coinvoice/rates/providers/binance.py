"""Binance's public price ticker (GET /api/v3/ticker/price?symbols=[...]): last prices against USDT.

Binance quotes no US dollar: its prices are in usdt, and count as usd only when the merchant pegs usdt.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp

from coinvoice.domain.rates import Observation
from coinvoice.rates.base import decimal_or_nan, get_json, shape_error

PATH = "/api/v3/ticker/price"
#: symbol -> (base, quote). One unknown symbol fails the whole request (error -1121).
SYMBOLS: dict[str, tuple[str, str]] = {
    "BTCUSDT": ("btc", "usdt"),
    "ETHUSDT": ("eth", "usdt"),
    "LTCUSDT": ("ltc", "usdt"),
    "BCHUSDT": ("bch", "usdt"),
    "BNBUSDT": ("bnb", "usdt"),
    "TRXUSDT": ("trx", "usdt"),
    "SOLUSDT": ("sol", "usdt"),
    "TONUSDT": ("ton", "usdt"),
    "USDCUSDT": ("usdc", "usdt"),
    "EURUSDT": ("eur", "usdt"),
}


class Binance:
    name = "binance"

    def __init__(self, base_url: str, timeout: float, api_key: str | None = None) -> None:
        self._url = base_url + PATH
        self._timeout = timeout
        self._headers = {"X-MBX-APIKEY": api_key} if api_key else {}

    async def fetch(self, http: aiohttp.ClientSession) -> list[Observation]:
        params = {"symbols": json.dumps(list(SYMBOLS), separators=(",", ":"))}
        body = await get_json(http, self._url, params=params, headers=self._headers, time_limit=self._timeout)
        now = datetime.now(UTC)
        if not isinstance(body, list):
            raise shape_error("binance", "the answer is not a list of tickers")
        observations = []
        for ticker in body:
            if isinstance(ticker, dict) and (pair := SYMBOLS.get(str(ticker.get("symbol")))):
                observations.append(Observation(pair[0], pair[1], decimal_or_nan(ticker.get("price")), now))
        return observations
