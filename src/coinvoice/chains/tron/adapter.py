"""The TRON adapter: reads a java-tron FullNode (or TronGrid) HTTP API for the block follower."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

import aiohttp

from coinvoice.chains.base import Block, BlockGone, ChainMisconfigured, NodeUnavailable, PendingScan
from coinvoice.chains.tron.address import InvalidTronAddress, account_id, to_hex
from coinvoice.chains.tron.blocks import block_infos, block_ref, parse_block, recipients
from coinvoice.chains.tron.http import TronHttp
from coinvoice.config import Settings
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.chains import Chain
from coinvoice.domain.transfers import Transfer

#: The all-zero account: a caller for read-only contract calls that needs no funds.
ZERO_ADDRESS = "41" + "00" * 20
#: getblockbylimitnext answers at most this many blocks.
MAX_RANGE = 100
#: What reading an answer that is not the documented shape raises: the node "answered garbage".
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError)


class TronAdapter:
    """Blocks by range (getblockbylimitnext) with each block's transaction infos (logs, results) into transfers.

    The follower asks for the tip first in every round; its answer (getnowblock) also gives the hashes of
    the tip and its parent, so the usual reorg check costs no extra request.
    """

    def __init__(self, chain: Chain, http: TronHttp, *, tokens: Mapping[str, str]) -> None:
        self.chain = chain.name
        self.native = chain.native
        self._http = http
        self._configured = dict(tokens)  # payment asset code -> contract as configured
        self._tokens: dict[str, str] = {}  # contract account id -> payment asset code
        for code, contract in tokens.items():
            try:
                self._tokens[account_id(contract)] = code
            except InvalidTronAddress:
                continue  # check() stops the watcher with a clear error
        self._recent: dict[int, str] = {}  # height -> block id, from the latest getnowblock

    @classmethod
    def from_settings(cls, chain: Chain, settings: Settings, session: aiohttp.ClientSession) -> TronAdapter:
        chain_settings = settings.chain(chain.name)
        assert chain_settings.rpc_url is not None
        http = TronHttp(
            chain_settings.rpc_url,
            session,
            api_key=chain_settings.api_key,
            max_requests_per_second=chain_settings.max_requests_per_second,
        )
        return cls(chain, http, tokens=settings.tokens_of(chain.name))

    # --- start-up checks -------------------------------------------------------------------------

    async def check(self) -> None:
        """Every configured token contract must be a TRON address with the payment asset's decimals."""
        for code, contract in self._configured.items():
            try:
                contract_hex = to_hex(contract)
            except InvalidTronAddress as exc:
                raise ChainMisconfigured(
                    f"{exc} (token contract of {code} in COINVOICE_TOKEN_CONTRACTS); not watching {self.chain}"
                ) from None
            expected = PAYMENT_ASSETS[code].decimals
            found, what = await self._decimals(contract_hex)
            if found != expected:
                raise ChainMisconfigured(
                    f"token contract {contract} configured for {code} gives {what}, but {code} has {expected} "
                    f"decimals (check COINVOICE_TOKEN_CONTRACTS and COINVOICE_TRON_NETWORK); not watching {self.chain}"
                )

    async def _decimals(self, contract_hex: str) -> tuple[int | None, str]:
        """The contract's decimals() through a read-only call, and how to say what it answered."""
        reply = await self._http.post(
            "/wallet/triggerconstantcontract",
            {
                "owner_address": ZERO_ADDRESS,
                "contract_address": contract_hex,
                "function_selector": "decimals()",
                "parameter": "",
            },
        )
        reply = reply if isinstance(reply, dict) else {}
        result, values = reply.get("result") or {}, reply.get("constant_result") or []
        if result.get("result") and values and len(values[0]) == 64:
            decimals = int(values[0], 16)
            return decimals, f"decimals() = {decimals}"
        why = _text(result.get("message", "")) or result.get("code") or "no result"
        return None, f"no decimals() answer ({why})"

    # --- the follower's questions ------------------------------------------------------------------

    async def tip(self) -> int:
        now = await self._http.post("/wallet/getnowblock", {})
        try:
            ref = block_ref(now)
        except UNREADABLE:
            raise NodeUnavailable(f"{self.chain} node answered getnowblock without a block: {now!r:.200}") from None
        self._recent = {ref.height: ref.hash}
        if ref.height > 0 and ref.prev_hash:
            self._recent[ref.height - 1] = ref.prev_hash
        return ref.height

    async def block_hashes(self, heights: list[int]) -> dict[int, str]:
        found = {h: self._recent[h] for h in heights if h in self._recent}
        asked = [h for h in heights if h not in found]
        replies = await asyncio.gather(*(self._http.post("/wallet/getblockbynum", {"num": h}) for h in asked))
        for height, reply in zip(asked, replies, strict=True):
            if isinstance(reply, dict) and reply.get("blockID"):  # `{}` above the tip
                found[height] = reply["blockID"]
        return found

    async def fetch_blocks(self, first: int, last: int) -> list[Block]:
        blocks: list[Block] = []
        for start in range(first, last + 1, MAX_RANGE):
            blocks.extend(await self._fetch_range(start, min(start + MAX_RANGE - 1, last)))
        return blocks

    async def transfers(self, block: Block, ours: Collection[str]) -> list[Transfer]:
        raw, infos = block.data
        try:
            return parse_block(self.chain, self.native, self._tokens, raw, infos, set(ours))[1]
        except UNREADABLE as exc:
            raise NodeUnavailable(f"{self.chain} block {block.ref.height} cannot be read: {exc!r}") from exc

    async def pending(self) -> PendingScan | None:
        return None  # mined blocks only: a TRON transaction shows once it is in a block (3 s)

    def forget_pending(self) -> None:
        return None

    # --- helpers ---------------------------------------------------------------------------------

    async def _fetch_range(self, first: int, last: int) -> list[Block]:
        heights = range(first, last + 1)
        ranged, *infos = await asyncio.gather(
            self._http.post("/wallet/getblockbylimitnext", {"startNum": first, "endNum": last + 1}),
            *(self._http.post("/wallet/gettransactioninfobyblocknum", {"num": h}) for h in heights),
        )
        try:
            raw_blocks = sorted(_blocks_of(ranged), key=lambda b: block_ref(b).height)
            if [block_ref(b).height for b in raw_blocks] != list(heights):
                raise BlockGone(f"{self.chain} has no blocks {first}..{last} (or not all of them)")
            blocks = []
            for raw, answer in zip(raw_blocks, infos, strict=True):
                checked = block_infos(self.chain, raw, answer)
                blocks.append(Block(block_ref(raw), (raw, checked), recipients(raw, checked)))
        except UNREADABLE as exc:
            raise NodeUnavailable(f"{self.chain} blocks {first}..{last} cannot be read: {exc!r}") from exc
        return blocks


def _blocks_of(reply: Any) -> list[Any]:
    return list(reply.get("block") or []) if isinstance(reply, dict) else []


def _text(hex_message: str) -> str:
    """java-tron writes result messages as the hex of their bytes."""
    try:
        return bytes.fromhex(hex_message).decode("utf-8", "replace")
    except ValueError:
        return hex_message
