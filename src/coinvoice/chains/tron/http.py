"""The java-tron HTTP API client: JSON POSTs with an optional API key, a request rate limit and 429/503 retries."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import aiohttp
from yarl import URL

from coinvoice.chains.base import NodeUnavailable

#: The header TronGrid reads an API key from.
API_KEY_HEADER = "TRON-PRO-API-KEY"
#: Answers that mean "too many requests, try later" (TronGrid's rate limit, an overloaded node).
RETRY_STATUSES = frozenset({429, 503})
RETRIES = 3
RETRY_BASE_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
TIMEOUT_SECONDS = 30.0


class RequestPacer:
    """Spaces requests at least 1/rate seconds apart (0: no limit); concurrent callers queue for slots."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class TronHttp:
    """One FullNode (or TronGrid) base URL. Node errors become NodeUnavailable; the follower backs off on them."""

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        *,
        api_key: str | None = None,
        max_requests_per_second: float = 0.0,
        timeout: float = TIMEOUT_SECONDS,
        retries: int = RETRIES,
        retry_base: float = RETRY_BASE_SECONDS,
    ) -> None:
        parsed = URL(url)
        self._auth = aiohttp.BasicAuth(parsed.user, parsed.password or "") if parsed.user is not None else None
        self._base = str(parsed.with_user(None)).rstrip("/")  # drops a password too: messages never show it
        self._session = session
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers[API_KEY_HEADER] = api_key
        self._pacer = RequestPacer(max_requests_per_second)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._retry_base = retry_base

    def __repr__(self) -> str:
        return f"TronHttp({self._base!r})"

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """The decoded JSON answer of ``path`` (``/wallet/…``); numbers stay int (or Decimal), never float."""
        data = json.dumps(body).encode()
        for attempt in range(self._retries + 1):
            await self._pacer.wait()
            status, retry_after, raw = await self._send(path, data)
            if status not in RETRY_STATUSES:
                return self._decode(path, status, raw)
            if attempt == self._retries:
                break
            delay = retry_after if retry_after is not None else self._retry_base * 2**attempt
            await asyncio.sleep(min(delay, RETRY_MAX_SECONDS))
        raise NodeUnavailable(
            f"{path} at {self._base}: HTTP {status} (rate limited or busy) after {self._retries + 1} tries"
        )

    async def _send(self, path: str, data: bytes) -> tuple[int, float | None, bytes]:
        try:
            async with self._session.post(
                self._base + path, data=data, headers=self._headers, auth=self._auth, timeout=self._timeout
            ) as response:
                return response.status, _seconds(response.headers.get("Retry-After")), await response.read()
        except TimeoutError as exc:
            raise NodeUnavailable(f"{path} at {self._base} timed out after {self._timeout.total}s") from exc
        except aiohttp.ClientError as exc:
            raise NodeUnavailable(f"{path} at {self._base} failed: {exc or type(exc).__name__}") from exc

    def _decode(self, path: str, status: int, raw: bytes) -> Any:
        try:
            reply = json.loads(raw, parse_float=Decimal)
        except ValueError:
            reply = None
        if status != 200 or reply is None:
            excerpt = raw[:200].decode("utf-8", "replace").strip() or "empty body"
            raise NodeUnavailable(f"{path} at {self._base} got HTTP {status}: {excerpt}")
        if isinstance(reply, dict) and "Error" in reply:  # java-tron's answer to a failed servlet call
            raise NodeUnavailable(f"{path} at {self._base}: {reply['Error']}")
        return reply


def _seconds(header: str | None) -> float | None:
    """A Retry-After given in seconds (the HTTP-date form is rare here and falls back to our own backoff)."""
    if header is None:
        return None
    try:
        return max(float(header), 0.0)  # a delay, not money
    except ValueError:
        return None
