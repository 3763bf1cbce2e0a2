"""The EVM adapter (web3's AsyncWeb3): native coin, internal transfers and ERC-20 Transfer logs into transfers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

import aiohttp
from eth_hash.auto import keccak
from eth_typing import HexStr
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import Web3Exception

from coinvoice.chains.base import Block, BlockGone, ChainMisconfigured, NodeUnavailable, PendingScan
from coinvoice.chains.evm.traces import InternalCall, calls_from_call_tracer, calls_from_parity
from coinvoice.config import Settings
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.chains import Chain
from coinvoice.domain.transfers import BlockRef, Transfer

log = logging.getLogger(__name__)

#: keccak("Transfer(address,address,uint256)"): the ERC-20 (and ERC-721) Transfer event.
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
DECIMALS_CALL = HexStr("0x313ce567")  # decimals()
NATIVE_INDEX = -1  # a transaction's own value; internal calls are -2 - n, token transfers their log index
RPC_TIMEOUT_SECONDS = 30.0
_HIGH_NIBBLES = frozenset("89abcdef")  # EIP-55: a letter is upper case where the hash's nibble is 8 or more


def web3_client(rpc_url: str) -> AsyncWeb3:
    """AsyncWeb3 over HTTP as the adapter uses it: a bounded timeout and no retries (the follower backs off)."""
    provider = AsyncHTTPProvider(
        rpc_url,
        request_kwargs={"timeout": aiohttp.ClientTimeout(total=RPC_TIMEOUT_SECONDS)},
        exception_retry_configuration=None,
    )
    return AsyncWeb3(provider)


async def use_session(w3: AsyncWeb3, http: aiohttp.ClientSession) -> None:
    """Make ``w3`` send its requests through ``http`` (kept-alive connections) in the running event loop."""
    provider = w3.provider
    assert isinstance(provider, AsyncHTTPProvider)
    await provider.cache_async_session(http)


class EvmBlock:
    """What one block holds for us: value-carrying transactions, Transfer logs with their recipient, internal calls."""

    __slots__ = ("calls", "logs", "txs")

    def __init__(self, txs: list[Any], logs: list[tuple[str, Any]], calls: list[InternalCall]) -> None:
        self.txs = txs
        self.logs = logs
        self.calls = calls


class EvmAdapter:
    """Reads one EVM node for the block follower; checks chain id and token decimals at start."""

    def __init__(
        self,
        chain: Chain,
        w3: AsyncWeb3,
        *,
        chain_id: int,
        tokens: Mapping[str, str],
        internal_transfers: bool = True,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.chain = chain.name
        self.native = chain.native
        self._w3 = w3
        self._chain_id = chain_id
        self._tokens = {AsyncWeb3.to_checksum_address(contract): code for code, contract in tokens.items()}
        self._internal = internal_transfers
        self._trace_method: str | None = None  # trace_block | debug_traceBlockByNumber, found by check()
        self._http = http  # a shared keep-alive session; None: web3's own (a new connection per request)
        self._handover: asyncio.Future[None] | None = None

    @classmethod
    def from_settings(cls, chain: Chain, settings: Settings, http: aiohttp.ClientSession | None = None) -> EvmAdapter:
        """The adapter for ``chain``'s configured node; pass the app's ``http`` session to reuse connections."""
        chain_settings = settings.chain(chain.name)
        assert chain_settings.rpc_url is not None and chain_settings.chain_id is not None
        return cls(
            chain,
            web3_client(chain_settings.rpc_url),
            chain_id=chain_settings.chain_id,
            tokens=settings.tokens_of(chain.name),
            internal_transfers=chain_settings.internal_transfers,
            http=http,
        )

    async def _connect(self) -> None:
        """Hand our session to web3 before its first request (its own sessions close the connection after each)."""
        if self._http is None:
            return
        if self._handover is None:
            self._handover = asyncio.ensure_future(use_session(self._w3, self._http))
        await self._handover

    # --- start-up checks -------------------------------------------------------------------------

    async def check(self) -> None:
        await self._connect()
        node_id = await self._call(self._w3.eth.chain_id)
        if node_id != self._chain_id:
            raise ChainMisconfigured(
                f"the node at the {self.chain} RPC URL answers chain id {node_id}, but {self._chain_id} is "
                f"configured (COINVOICE_{self.chain.upper()[:3]}_CHAIN_ID / _NETWORK); not watching {self.chain}"
            )
        for contract, code in self._tokens.items():
            await self._check_decimals(contract, code)
        if self._internal:
            self._trace_method = await self._find_trace_method()

    async def _check_decimals(self, contract: str, code: str) -> None:
        expected = PAYMENT_ASSETS[code].decimals
        try:
            raw = await self._call(self._w3.eth.call({"to": contract, "data": DECIMALS_CALL}))
            decimals = int.from_bytes(bytes(raw), "big") if len(raw) == 32 else None
        except Web3Exception:
            decimals = None
        if decimals != expected:
            found = "no decimals() answer" if decimals is None else f"decimals() = {decimals}"
            raise ChainMisconfigured(
                f"token contract {contract} configured for {code} gives {found}, but {code} has {expected} decimals "
                f"(check COINVOICE_TOKEN_CONTRACTS); not watching {self.chain}"
            )

    async def _find_trace_method(self) -> str | None:
        for method, params in (
            ("trace_block", ["latest"]),
            ("debug_traceBlockByNumber", ["latest", {"tracer": "callTracer"}]),
        ):
            reply = await self._raw(method, params)
            if "error" not in reply:
                log.info("%s: internal transfers found through %s", self.chain, method)
                return method
        log.warning(
            "%s node offers no trace API (trace_block, debug_traceBlockByNumber): native value sent by contracts "
            "(internal transfers) will not be seen; set COINVOICE_%s_INTERNAL_TRANSFERS=false to silence this",
            self.chain,
            self.chain.upper()[:3],
        )
        return None

    # --- the follower's questions ------------------------------------------------------------------

    async def tip(self) -> int:
        await self._connect()
        return int(await self._call(self._w3.eth.block_number))

    async def block_hashes(self, heights: list[int]) -> dict[int, str]:
        await self._connect()
        blocks = await asyncio.gather(*(self._call(self._w3.eth.get_block(h)) for h in heights), return_exceptions=True)
        found = {}
        for height, block in zip(heights, blocks, strict=True):
            if isinstance(block, NodeUnavailable):
                raise block
            if isinstance(block, BaseException) or block is None:
                continue  # above the tip
            found[height] = block["hash"].to_0x_hex()
        return found

    async def fetch_blocks(self, first: int, last: int) -> list[Block]:
        await self._connect()
        heights = list(range(first, last + 1))
        try:
            raw_blocks = await asyncio.gather(*(self._call(self._w3.eth.get_block(h, True)) for h in heights))
        except BlockGone:
            raise
        logs = await self._call(
            self._w3.eth.get_logs({"fromBlock": first, "toBlock": last, "topics": [TRANSFER_TOPIC]})
        )
        calls = await self._internal_calls(heights)
        by_block: dict[str, list[Any]] = {}
        for entry in logs:
            by_block.setdefault(entry["blockHash"].to_0x_hex(), []).append(entry)
        blocks = []
        for raw in raw_blocks:
            ref = BlockRef(
                int(raw["number"]), raw["hash"].to_0x_hex(), raw["parentHash"].to_0x_hex(), int(raw["timestamp"])
            )
            data = EvmBlock(
                [tx for tx in raw["transactions"] if tx["value"] > 0 and tx.get("to")],
                [(_topic_address(e["topics"][2]), e) for e in by_block.pop(ref.hash, []) if len(e["topics"]) == 3],
                calls.get(ref.height, []),
            )
            blocks.append(Block(ref, data, _addresses(data)))
        if by_block:  # logs of blocks we did not fetch: the chain moved between the calls
            raise BlockGone(f"{self.chain} logs from other blocks than {first}..{last}")
        return blocks

    async def transfers(self, block: Block, ours: Collection[str]) -> list[Transfer]:
        await self._connect()
        wanted = set(ours)
        data: EvmBlock = block.data
        found: list[Transfer] = []
        for tx in data.txs:
            if tx["to"] in wanted:
                found.append(
                    self._transfer(
                        tx["hash"].to_0x_hex(), NATIVE_INDEX, tx["to"], tx["value"], self.native, None, block
                    )
                )
        for call in data.calls:
            if call.to in wanted and not call.reverted:
                found.append(
                    self._transfer(call.txid, -2 - call.position, call.to, call.value, self.native, None, block)
                )
        for to, entry in data.logs:
            if to in wanted:
                contract = entry["address"]
                amount = int.from_bytes(bytes(entry["data"])[:32], "big") if len(entry["data"]) >= 32 else 0
                txid = entry["transactionHash"].to_0x_hex()
                found.append(
                    self._transfer(
                        txid, int(entry["logIndex"]), to, amount, self._tokens.get(contract), contract, block
                    )
                )
        return await self._succeeded(found)

    async def pending(self) -> PendingScan | None:
        return None  # mined blocks only: an EVM transaction is final enough to show once it is in a block

    def forget_pending(self) -> None:
        return None

    # --- helpers ---------------------------------------------------------------------------------

    def _transfer(
        self, txid: str, index: int, to: str, amount: int, asset: str | None, contract: str | None, block: Block
    ) -> Transfer:
        return Transfer(self.chain, txid, index, to, int(amount), asset, block.ref, contract)

    async def _succeeded(self, transfers: list[Transfer]) -> list[Transfer]:
        """Drop native and internal transfers of transactions that reverted (logs of reverted ones never exist)."""
        txids = sorted({t.txid for t in transfers if t.contract is None})
        statuses = await asyncio.gather(*(self._receipt_status(t) for t in txids))
        failed = {txid for txid, status in zip(txids, statuses, strict=True) if status != 1}
        return [t for t in transfers if t.txid not in failed]

    async def _receipt_status(self, txid: str) -> int:
        """A mined transaction's receipt status (1: succeeded), read raw: only this field of the receipt is used."""
        reply = await self._raw("eth_getTransactionReceipt", [txid])
        if "error" in reply:
            raise NodeUnavailable(f"eth_getTransactionReceipt of {txid} failed: {reply['error']}")
        receipt = reply.get("result")
        if receipt is None:  # a transaction of a block we just read: the node lost it (a reorg under us)
            raise NodeUnavailable(f"TransactionNotFound: no receipt for {txid}")
        return int(receipt["status"], 16)

    async def _internal_calls(self, heights: list[int]) -> dict[int, list[InternalCall]]:
        if self._trace_method is None:
            return {}
        if self._trace_method == "trace_block":
            replies = await asyncio.gather(*(self._raw("trace_block", [hex(h)]) for h in heights))
            parse: Callable[[list[dict[str, Any]]], list[InternalCall]] = calls_from_parity
        else:
            replies = await asyncio.gather(
                *(self._raw("debug_traceBlockByNumber", [hex(h), {"tracer": "callTracer"}]) for h in heights)
            )
            parse = calls_from_call_tracer
        found = {}
        for height, reply in zip(heights, replies, strict=True):
            if "error" in reply:
                raise NodeUnavailable(f"{self._trace_method} of block {height} failed: {reply['error']}")
            found[height] = parse(reply.get("result") or [])
        return found

    async def _raw(self, method: str, params: list[Any]) -> dict[str, Any]:
        try:
            return dict(await self._w3.provider.make_request(method, params))  # type: ignore[arg-type]
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise NodeUnavailable(f"{method}: {exc}") from exc
        except Web3Exception as exc:
            return {"error": str(exc)}

    async def _call(self, awaitable: Any) -> Any:
        """Await one web3 call; network failures become NodeUnavailable, a missing block BlockGone."""
        try:
            result = await awaitable
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise NodeUnavailable(str(exc) or type(exc).__name__) from exc
        except Web3Exception as exc:
            if type(exc).__name__ == "BlockNotFound":
                raise BlockGone(str(exc)) from exc
            raise NodeUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return result


def _addresses(data: EvmBlock) -> set[str]:
    """Every address the block may pay: value recipients, internal call targets, Transfer recipients."""
    found = {tx["to"] for tx in data.txs}
    found.update(c.to for c in data.calls)
    found.update(to for to, _ in data.logs)
    return found


def _topic_address(topic: Any) -> str:
    """The EIP-55 checksummed address in a 32-byte topic: web3's to_checksum_address without its checks (hot path)."""
    hex_address = bytes(topic)[-20:].hex()
    digest = keccak(hex_address.encode()).hex()
    return "0x" + "".join(c.upper() if d in _HIGH_NIBBLES else c for c, d in zip(hex_address, digest, strict=False))
