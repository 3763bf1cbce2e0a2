"""A small client of the toncenter HTTP API v2 over aiohttp (X-API-Key header); failures become NodeUnavailable."""

from __future__ import annotations

from typing import Any

import aiohttp

from coinvoice.chains.base import NodeUnavailable

TIMEOUT_SECONDS = 30.0


class ToncenterV2:
    def __init__(
        self, url: str, session: aiohttp.ClientSession, *, api_key: str | None = None, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self.url = url.rstrip("/")  # e.g. https://<provider>/api/v2
        self._session = session
        self._headers = {"X-API-Key": api_key} if api_key else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def get(self, method: str, **params: Any) -> Any:
        """The ``result`` of ``GET <url>/<method>``; ``ok: false``, an HTTP error or no answer raise NodeUnavailable."""
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items() if v is not None}
        try:
            async with self._session.get(
                f"{self.url}/{method}", params=query, headers=self._headers, timeout=self._timeout
            ) as resp:
                reply = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise NodeUnavailable(f"{method}: {exc or type(exc).__name__}") from exc
        if not isinstance(reply, dict) or not reply.get("ok"):
            error = reply.get("error") if isinstance(reply, dict) else None
            raise NodeUnavailable(f"{method}: HTTP {status}: {error or 'no result'}")
        return reply.get("result")
