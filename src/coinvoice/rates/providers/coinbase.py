"""Coinbase's public exchange rates (GET /v2/exchange-rates?currency=USD): one US dollar in every currency."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from coinvoice.domain.rates import Observation
from coinvoice.rates.base import decimal_or_nan, get_json, shape_error

PATH = "/v2/exchange-rates"


class Coinbase:
    name = "coinbase"

    def __init__(self, base_url: str, timeout: float, currencies: tuple[str, ...]) -> None:
        self._url = base_url + PATH
        self._timeout = timeout
        self._currencies = currencies

    async def fetch(self, http: aiohttp.ClientSession) -> list[Observation]:
        body = await get_json(http, self._url, params={"currency": "USD"}, time_limit=self._timeout)
        now = datetime.now(UTC)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(rates := data.get("rates"), dict):
            raise shape_error("coinbase", "no data.rates object")
        if str(data.get("currency", "")).upper() != "USD":
            raise shape_error("coinbase", f"rates are for {data.get('currency')!r}, not USD")
        by_code = {str(code).lower(): value for code, value in rates.items()}
        return [
            Observation("usd", code, decimal_or_nan(by_code[code]), now)
            for code in self._currencies
            if code != "usd" and code in by_code
        ]
