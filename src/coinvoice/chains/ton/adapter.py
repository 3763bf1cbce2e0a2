"""The TON adapter: each merchant wallet's transactions since a cursor (toncenter v2 getTransactions), the inbound
internal messages among them into TON transfers with their text comments.

Value, sender and comment are read from the transaction itself (its BoC, ``data``), whose hash must be the
transaction id the API gives. A transaction is final once the API returns it (it is in a shard block the
masterchain has committed): it is dated by the last masterchain block, so one confirmation means "returned".
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from typing import Any

import aiohttp
from pytoniq_core import Cell, Transaction

from coinvoice.addresses.shared import ton_account_id
from coinvoice.chains.base import AccountEntry, NodeUnavailable
from coinvoice.chains.ton.http import ToncenterV2
from coinvoice.config import Settings
from coinvoice.domain.chains import Chain
from coinvoice.domain.transfers import BlockRef, Transfer

#: getTransactions answers at most this many transactions per call.
PAGE = 100
#: Deposit index of the TON an inbound message brought.
NATIVE_INDEX = 0
TEXT_COMMENT_OP = 0
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError, binascii.Error)


class TonAdapter:
    """Reads the toncenter HTTP API v2 for the account scanner."""

    def __init__(self, chain: Chain, api: ToncenterV2) -> None:
        self.chain = chain.name
        self.native = chain.native
        self._api = api
        self._seqno = 0  # the last masterchain block, from tip()

    @classmethod
    def from_settings(cls, chain: Chain, settings: Settings, session: aiohttp.ClientSession) -> TonAdapter:
        chain_settings = settings.chain(chain.name)
        assert chain_settings.rpc_url is not None
        return cls(chain, ToncenterV2(chain_settings.rpc_url, session, api_key=chain_settings.api_key))

    async def check(self) -> None:
        return None

    async def tip(self) -> int:
        info = await self._api.get("getMasterchainInfo")
        try:
            self._seqno = int(info["last"]["seqno"])
        except UNREADABLE as exc:
            raise NodeUnavailable(f"getMasterchainInfo answered garbage: {exc!r}") from exc
        return self._seqno

    async def history(self, address: str, cursor: str | None, since: int) -> list[AccountEntry]:
        """Transactions after ``cursor`` ("lt:hash"), newest first from the API (paged by lt and hash, bounded
        below by ``to_lt``), back to ``since``; returned oldest first."""
        to_lt = int(cursor.split(":", 1)[0]) if cursor else 0
        found: list[AccountEntry] = []
        lt = hash_ = None
        while True:
            page = await self._api.get(
                "getTransactions", address=address, limit=PAGE, lt=lt, hash=hash_, to_lt=to_lt, archival=True
            )
            try:
                fresh = [tx for tx in page if lt is None or int(tx["transaction_id"]["lt"]) < lt]
                for tx in fresh:
                    if int(tx["utime"]) < since:
                        return found[::-1]
                    tx_id = tx["transaction_id"]
                    found.append(AccountEntry(f"{tx_id['lt']}:{tx_id['hash']}", int(tx["utime"]), tx))
                if len(page) < PAGE or not fresh:
                    return found[::-1]
                lt, hash_ = int(page[-1]["transaction_id"]["lt"]), page[-1]["transaction_id"]["hash"]
            except UNREADABLE as exc:
                raise NodeUnavailable(f"getTransactions answered garbage: {exc!r}") from exc

    async def transfers(self, address: str, entries: list[AccountEntry]) -> list[Transfer]:
        found = []
        for entry in entries:
            try:
                transfer = parse_transaction(self.chain, self.native, address, entry.data, self._seqno)
            except UNREADABLE as exc:
                raise NodeUnavailable(f"transaction {entry.cursor} cannot be read: {exc!r}") from exc
            if transfer is not None:
                found.append(transfer)
        return found

    async def still_there(self, address: str, txids: Collection[str], since: int) -> set[str]:
        entries = await self.history(address, None, since)
        listed = {_hex_hash(e.data["transaction_id"]["hash"]) for e in entries}
        return set(txids) & listed


def parse_transaction(chain: str, native: str, address: str, tx: dict[str, Any], seqno: int) -> Transfer | None:
    """The TON an inbound internal message brought to ``address``, with its text comment.

    Nothing for the wallet's own sends (an external inbound message), for a bounce of our own message coming
    back, and for a payment the transaction bounced back to its sender (a bounce phase that sent it): the value
    did not stay. A payment that stayed counts, even when the transaction aborted (a wallet not deployed yet
    keeps what a non-bounceable message brings).
    """
    cell = Cell.one_from_boc(base64.b64decode(tx["data"]))
    txid = _hex_hash(tx["transaction_id"]["hash"])
    if cell.hash.hex() != txid:
        raise ValueError(f"the transaction's data hashes to {cell.hash.hex()}, not to its id {txid}")
    parsed = Transaction.deserialize(cell.begin_parse())
    if ton_account_id(address) != f"{ton_account_id(tx['address']['account_address'])}":
        raise ValueError(f"a transaction of {tx['address']['account_address']} listed for {address}")
    message = parsed.in_msg
    if message is None or not message.is_internal or message.info.bounced:
        return None
    bounce = getattr(parsed.description, "bounce", None)
    if bounce is not None and bounce.type_ == "ok":
        return None
    amount = int(message.info.value_coins)
    if amount <= 0:
        return None
    block = BlockRef(seqno, str(seqno), None, int(tx["utime"]))
    return Transfer(chain, txid, NATIVE_INDEX, address, amount, native, block, tag=_comment(message.body))


def _comment(body: Cell) -> str | None:
    """A text comment: op 0 then a UTF-8 snake string; anything else is no comment."""
    body_slice = body.begin_parse()
    if body_slice.remaining_bits < 32 or body_slice.load_uint(32) != TEXT_COMMENT_OP:
        return None
    try:
        return str(body_slice.load_snake_string())
    except (UnicodeDecodeError, ValueError):
        return None


def _hex_hash(value: str) -> str:
    """A transaction hash as hex (explorers' form), from the API's base64 (or hex)."""
    if len(value) == 64:
        return value.lower()
    return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_").hex()
