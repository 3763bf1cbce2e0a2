"""Async JSON-RPC 1.0 client for Bitcoin Core-style nodes (bitcoind, litecoind, bch nodes) over aiohttp."""

from __future__ import annotations

import base64
import itertools
import json
from decimal import Decimal
from typing import Any

import aiohttp
from yarl import URL

from coinvoice.chains.base import NodeUnavailable

__all__ = ["BitcoinRpc", "NodeUnavailable", "RpcError"]

#: Bitcoin Core's RPC_IN_WARMUP: the node is up but still loading; try again later.
RPC_IN_WARMUP = -28


class RpcError(Exception):
    """The node answered a call with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, method: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.method = method

    def __str__(self) -> str:
        return f"{self.method or 'rpc'} failed with node error {self.code}: {self.message}"


def _encode_json_param(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # the node accepts amounts as strings; never go through float
    raise TypeError(f"cannot send {type(value).__name__} as an RPC parameter")


class BitcoinRpc:
    """One node's JSON-RPC endpoint; credentials come from the URL's user:password."""

    def __init__(self, url: str, session: aiohttp.ClientSession, timeout: float = 30) -> None:
        parsed = URL(url)
        self._headers = {"Content-Type": "application/json"}
        if parsed.user is not None:
            self._headers["Authorization"] = _basic_auth(parsed.user, parsed.password or "")
        self._url = parsed.with_user(None)  # drops the password too: messages never show it
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"BitcoinRpc({str(self._url)!r})"

    async def call(self, method: str, *params: Any) -> Any:
        """The result of one call; RpcError for a node error, NodeUnavailable when the node cannot answer."""
        reply = await self._post(self._request(next(self._ids), method, params), method)
        if not isinstance(reply, dict):
            raise NodeUnavailable(f"{method} to {self._url}: reply is not a JSON-RPC object")
        return reply.get("result")

    async def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Results of several calls sent as one JSON array, in the order of ``calls``.

        Replies are matched by id, not position. The first failed call (in request order) raises its RpcError.
        """
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        payload = [self._request(i, method, params) for i, (method, params) in zip(ids, calls, strict=True)]
        what = f"batch of {len(calls)} calls ({calls[0][0]}, ...)"
        reply = await self._post(payload, what)
        if not isinstance(reply, list):
            raise NodeUnavailable(f"{what} to {self._url}: reply is not a JSON array")
        by_id = {entry.get("id"): entry for entry in reply if isinstance(entry, dict)}
        results = []
        for request_id, (method, _) in zip(ids, calls, strict=True):
            entry = by_id.get(request_id)
            if entry is None:
                raise NodeUnavailable(f"{what} to {self._url}: no reply for {method} (id {request_id})")
            if entry.get("error") is not None:
                raise _node_error(entry["error"], method, self._url)
            results.append(entry.get("result"))
        return results

    async def get_block_count(self) -> int:
        return int(await self.call("getblockcount"))

    async def get_block_hash(self, height: int) -> str:
        return str(await self.call("getblockhash", height))

    async def get_block(self, block_hash: str) -> dict[str, Any]:
        """The block with every transaction decoded (verbosity 2)."""
        return dict(await self.call("getblock", block_hash, 2))

    async def get_blocks(self, block_hashes: list[str]) -> list[dict[str, Any]]:
        """Several blocks (verbosity 2) in one batch request, in the order asked."""
        return await self.batch([("getblock", [h, 2]) for h in block_hashes])

    async def get_raw_mempool(self) -> list[str]:
        """Txids currently in the node's mempool."""
        return list(await self.call("getrawmempool"))

    async def get_raw_transaction(self, txid: str) -> dict[str, Any]:
        """One decoded transaction (needs -txindex for confirmed transactions outside the wallet)."""
        return dict(await self.call("getrawtransaction", txid, True))

    @staticmethod
    def _request(request_id: int, method: str, params: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
        return {"jsonrpc": "1.0", "id": request_id, "method": method, "params": list(params)}

    async def _post(self, payload: object, what: str) -> Any:
        body = json.dumps(payload, default=_encode_json_param).encode()
        try:
            async with self._session.post(
                self._url,
                data=body,
                headers=self._headers,
                timeout=self._timeout,
            ) as response:
                status, reason, raw = response.status, response.reason, await response.read()
        except TimeoutError as exc:
            raise NodeUnavailable(f"{what} to {self._url} timed out after {self._timeout.total}s") from exc
        except aiohttp.ClientError as exc:
            raise NodeUnavailable(f"{what} to {self._url} failed: {exc or type(exc).__name__}") from exc
        try:
            reply = json.loads(raw, parse_float=Decimal)
        except ValueError:
            reply = None
        if isinstance(reply, dict) and reply.get("error") is not None:
            raise _node_error(reply["error"], what, self._url)
        if status != 200 or reply is None:
            excerpt = raw[:200].decode("utf-8", "replace").strip() or "empty body"
            raise NodeUnavailable(f"{what} to {self._url} got HTTP {status} {reason}: {excerpt}")
        return reply


def _basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _node_error(error: Any, method: str, url: URL) -> Exception:
    if isinstance(error, dict):
        code, message = int(error.get("code", 0)), str(error.get("message", ""))
    else:
        code, message = 0, str(error)
    if code == RPC_IN_WARMUP:
        return NodeUnavailable(f"{method} to {url}: node is warming up ({message})")
    return RpcError(code, message, method)
