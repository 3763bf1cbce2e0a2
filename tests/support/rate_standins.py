"""Stand-ins for the rate providers' public APIs (Kraken, Binance, Coinbase, CoinGecko), served on 127.0.0.1.

These are stand-ins, not the services: each answers its provider's documented path with the example kept
in tests/rates/examples (written in the documented response shape), records every request, and can be
told to change a price or to misbehave: answer an error status, garbage, an HTML page with status 200, or
nothing before the client's timeout. CoinGecko's ``last_updated_at`` is moved to a few seconds before the
request (``updated_seconds_ago``) so that the example reads as current; set it to test stale prices.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

EXAMPLES = Path(__file__).resolve().parents[1] / "rates" / "examples"
PROVIDERS = ("kraken", "binance", "coinbase", "coingecko")
PATHS = {
    "kraken": "/0/public/Ticker",
    "binance": "/api/v3/ticker/price",
    "coinbase": "/v2/exchange-rates",
    "coingecko": "/api/v3/simple/price",
}
EXAMPLE_FILES = {
    "kraken": "kraken_ticker.json",
    "binance": "binance_ticker_price.json",
    "coinbase": "coinbase_exchange_rates.json",
    "coingecko": "coingecko_simple_price.json",
}
BEHAVIOURS = ("ok", "down", "garbage", "html", "timeout")
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"
)


def example(provider: str) -> Any:
    """The provider's example answer as JSON (CoinGecko's numbers as floats: only the stand-in reads them so)."""
    return json.loads((EXAMPLES / EXAMPLE_FILES[provider]).read_text())


class ProviderStandIn:
    """One provider's API on its own 127.0.0.1 port (so that it can be down while the others are up)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.behaviour = "ok"
        self.requests: list[dict[str, dict[str, str]]] = []  # query and headers of every request
        self.updated_seconds_ago = 5
        self._body = example(provider)
        self._server: TestServer | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        assert self._port is not None, "start the stand-in first"
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(PATHS[self.provider], self._answer)
        self._server = TestServer(app, host="127.0.0.1", port=self._port or 0)
        await self._server.start_server()
        self._port = self._server.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    def reset(self) -> None:
        self.behaviour = "ok"
        self.updated_seconds_ago = 5
        self._body = example(self.provider)

    def answer_with(self, body: Any) -> None:
        """Serve ``body`` instead of the example (another shape, an error object, ...)."""
        self._body = body

    def set_price(self, key: str, value: Any) -> None:
        """Change one price, named as the provider names it: a Kraken result key (XLTCZUSD), a Binance symbol
        (LTCUSDT), a Coinbase currency (LTC: units per US dollar), or CoinGecko's ``coin.vs`` (litecoin.usd)."""
        body = self._body
        if self.provider == "kraken":
            ticker = body["result"][key]
            ticker["a"][0] = ticker["b"][0] = ticker["c"][0] = value
        elif self.provider == "binance":
            next(t for t in body if t["symbol"] == key)["price"] = value
        elif self.provider == "coinbase":
            body["data"]["rates"][key] = value
        else:
            coin, vs = key.split(".")
            body[coin][vs] = value

    def scale_prices(self, factor: float, keys: Iterable[str]) -> None:
        """Multiply some prices (for a far-off provider); string prices stay strings."""
        for key in keys:
            current = self._get(key)
            if isinstance(current, str):
                self.set_price(key, repr(float(current) * factor))
            else:
                self.set_price(key, current * factor)

    def _get(self, key: str) -> Any:
        body = self._body
        if self.provider == "kraken":
            return body["result"][key]["c"][0]
        if self.provider == "binance":
            return next(t for t in body if t["symbol"] == key)["price"]
        if self.provider == "coinbase":
            return body["data"]["rates"][key]
        coin, vs = key.split(".")
        return body[coin][vs]

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"query": dict(request.query), "headers": dict(request.headers)})
        if self.behaviour == "down":
            return web.Response(status=503, text="Service Unavailable")
        if self.behaviour == "garbage":
            return web.Response(status=200, body=b"\x00\x9f{price: oops", content_type="application/json")
        if self.behaviour == "html":
            return web.Response(status=200, body=HTML_PAGE, content_type="text/html")
        if self.behaviour == "timeout":
            await asyncio.sleep(30)
        body = copy.deepcopy(self._body)
        if self.provider == "coingecko" and self.updated_seconds_ago is not None and isinstance(body, dict):
            now = int(time.time())
            for prices in body.values():
                if isinstance(prices, dict):
                    prices["last_updated_at"] = now - self.updated_seconds_ago
        return web.json_response(body)


class StandIns:
    """The four provider stand-ins, started together."""

    def __init__(self) -> None:
        self.by_name = {name: ProviderStandIn(name) for name in PROVIDERS}

    def __getitem__(self, name: str) -> ProviderStandIn:
        return self.by_name[name]

    def env(self) -> dict[str, str]:
        """Settings variables pointing every provider at its stand-in."""
        return {f"COINVOICE_RATES_{name.upper()}_URL": s.url for name, s in self.by_name.items()}

    @property
    def request_count(self) -> int:
        return sum(len(s.requests) for s in self.by_name.values())

    async def start(self) -> None:
        for standin in self.by_name.values():
            await standin.start()

    async def stop(self) -> None:
        for standin in self.by_name.values():
            await standin.stop()
