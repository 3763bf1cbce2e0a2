"""Payers on the TRON stand-in: transactions built and signed offline with tronpy, broadcast over its HTTP API.

tronpy's offline build computes the txID itself for TRX and TRC-20 transfers; it has no offline encoding of a
TRC-10 TransferAssetContract, so that txID comes from the stand-in's protobuf encoding (the signature is
tronpy's all the same). Only 127.0.0.1 is ever contacted: tronpy's client is pointed at the stand-in.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tronpy import Tron
from tronpy.contract import Contract
from tronpy.keys import PrivateKey
from tronpy.providers import HTTPProvider
from tronpy.tron import Transaction, TransactionBuilder

from tests.support.tron_standin import TronStandin, transaction_id

TRC20_TRANSFER_ABI = [
    {
        "name": "transfer",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "_to", "type": "address"}, {"name": "_value", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]


class BroadcastRefused(RuntimeError):
    """The stand-in refused a transaction at broadcast (java-tron's code and message)."""


class TronPayer:
    """An account with a private key that pays from the stand-in's ledger."""

    def __init__(self, node: TronStandin, key: PrivateKey | None = None) -> None:
        self.node = node
        self.key = key or PrivateKey.random()
        self.address = self.key.public_key.to_base58check_address()
        self._client = Tron(HTTPProvider(node.url))  # never used online: builds are offline

    def send_trx(self, to: str, sun: int) -> str:
        return self.broadcast(self.sign(self._client.trx.transfer(self.address, to, sun)))

    def send_token(self, contract: str, to: str, units: int) -> str:
        """A TRC-20 ``transfer(to, units)`` call: mined as SUCCESS with a Transfer log, or REVERT without one."""
        return self.broadcast(self.sign(self.token_call(contract, to, units)))

    def token_call(self, contract: str, to: str, units: int) -> TransactionBuilder:
        token = Contract(contract, abi=TRC20_TRANSFER_ABI, client=self._client)
        return token.functions.transfer.with_owner(self.address)(to, units).fee_limit(30_000_000)

    def send_trc10(self, to: str, token_id: str, amount: int) -> str:
        builder = self._client.trx.asset_transfer(self.address, to, amount, int(token_id))
        raw = self._with_reference(builder)
        return self.broadcast(Transaction(raw, txid=transaction_id(raw), permission=None).sign(self.key))

    def sign(self, builder: TransactionBuilder) -> Transaction:
        return builder.build(offline=True, ref_block_id=self.node_block_id()).sign(self.key)

    def broadcast(self, tx: Transaction | dict[str, Any]) -> str:
        body = tx.to_json() if isinstance(tx, Transaction) else tx
        reply = post(self.node, "/wallet/broadcasttransaction", body)
        if not reply.get("result"):
            message = bytes.fromhex(reply.get("message", "")).decode(errors="replace")
            raise BroadcastRefused(f"{reply.get('code')}: {message}")
        return str(reply["txid"])

    def node_block_id(self) -> str:
        """The head block's id, read over HTTP as a wallet does for the transaction's reference block."""
        return str(post(self.node, "/wallet/getnowblock", {})["blockID"])

    def _with_reference(self, builder: TransactionBuilder) -> dict[str, Any]:
        block_id = self.node_block_id()
        raw: dict[str, Any] = builder._raw_data  # what build() fills in, without its offline txID encoding
        raw["ref_block_bytes"], raw["ref_block_hash"] = block_id[12:16], block_id[16:32]
        return raw


def post(node: TronStandin, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        node.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # the stand-in, on 127.0.0.1
        return json.loads(response.read())
