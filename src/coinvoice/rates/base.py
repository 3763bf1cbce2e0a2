"""The RateProvider protocol, the errors a provider raises, and the one HTTP GET every provider uses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import aiohttp

from coinvoice.domain.rates import Observation


class ProviderError(Exception):
    """A provider gave no usable answer; ``reason`` is a short label for metrics (timeout, http_503, ...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RateProvider(Protocol):
    """A market data source speaking its own documented public API."""

    name: str

    async def fetch(self, http: aiohttp.ClientSession) -> list[Observation]:
        """Every price this provider has for the currencies we quote, in one or a few requests.

        Values are passed on as the provider sent them (even zero or NaN): the refresh job judges them.
        Raises ProviderError when the answer as a whole cannot be used.
        """
        ...


async def get_json(
    http: aiohttp.ClientSession,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    time_limit: float,
) -> Any:
    """GET ``url`` and parse its JSON body with exact decimals; any other outcome is a ProviderError."""
    try:
        async with http.get(
            url, params=params, headers=headers, timeout=aiohttp.ClientTimeout(total=time_limit), allow_redirects=False
        ) as response:
            status, body = response.status, await response.read()
    except TimeoutError as exc:
        raise ProviderError("timeout", f"no answer from {url} within {time_limit:g} s") from exc
    except aiohttp.ClientError as exc:
        raise ProviderError("unreachable", f"{url}: {exc or type(exc).__name__}") from exc
    if status != 200:
        raise ProviderError(f"http_{status}", f"{url} answered HTTP {status}: {_excerpt(body)}")
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=Decimal)
    except ValueError as exc:  # HTML error pages with status 200 end here
        raise ProviderError("bad_response", f"{url} did not answer JSON: {_excerpt(body)}") from exc


def decimal_or_nan(value: object) -> Decimal:
    """A price as sent (string or JSON number); anything that is no number becomes NaN, judged later."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return Decimal("NaN")
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return Decimal("NaN")


def shape_error(provider: str, detail: str) -> ProviderError:
    return ProviderError("bad_response", f"{provider}: {detail}")


def _excerpt(body: bytes) -> str:
    return body[:120].decode("utf-8", "replace").strip().replace("\n", " ") or "empty body"
