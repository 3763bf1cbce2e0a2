"""A small Solana JSON-RPC client over aiohttp: network failures and node errors become NodeUnavailable."""

from __future__ import annotations

import itertools
from typing import Any

import aiohttp

from coinvoice.chains.base import NodeUnavailable

RPC_TIMEOUT_SECONDS = 30.0


class SolanaRpc:
    def __init__(self, url: str, session: aiohttp.ClientSession, timeout: float = RPC_TIMEOUT_SECONDS) -> None:
        self.url = url
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: Any) -> Any:
        """The ``result`` of one call; a JSON-RPC error, an HTTP error or no answer raise NodeUnavailable."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            async with self._session.post(self.url, json=body, timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise NodeUnavailable(f"{method}: HTTP {resp.status}")
                reply = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise NodeUnavailable(f"{method}: {exc or type(exc).__name__}") from exc
        if not isinstance(reply, dict):
            raise NodeUnavailable(f"{method}: answer is not a JSON-RPC object")
        if reply.get("error"):
            error = reply["error"]
            raise NodeUnavailable(f"{method}: {error.get('message', error) if isinstance(error, dict) else error}")
        return reply.get("result")
